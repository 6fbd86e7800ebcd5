// SPDX-License-Identifier: Apache-2.0
// Faults injected into the `starbucks` executable while it trains (RELIABILITY.md §5-6, issue 11):
// SIGKILL at spread-out points inside checkpoint writes, a full disk, a read-only output folder,
// SIGINT/SIGTERM (a graceful stop with a checkpoint).
//
// Usage: fault_injection kill|disk-full|read-only|interrupt <starbucks> <tests dir> <work dir> [trials]
// Prints one line per injected fault; exits 0 when every check held, 1 naming the first that did not.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/capability.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <starbucks/io/safetensors_file.hpp>
#include <starbucks/train/checkpoint.hpp>

namespace {

namespace fs = std::filesystem;
namespace sb = starbucks;
using clock_type = std::chrono::steady_clock;

struct check_failed : std::runtime_error {
    using std::runtime_error::runtime_error;
};

void expect(bool ok, const std::string& what) {
    if (!ok) throw check_failed(what);
}

std::string read_text(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

/// The files of the run under test: the executable, inputs, and where runs go.
struct setup {
    fs::path exe, tests, work;
    fs::path tiny() const { return tests / "data" / "tiny-bert-ner"; }
    fs::path sts() const { return tests / "cli" / "stsb-train-24.tsv"; }
    fs::path corpus() const { return tests.parent_path() / "examples" / "data" / "corpus.txt"; }
};

/// Runs `args` with stdout and stderr to `log`; `in_child` runs between fork and exec.
pid_t spawn(const std::vector<std::string>& args, const fs::path& log, const std::function<void()>& in_child = {}) {
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
        const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) ::_exit(96);
        ::dup2(fd, 1);
        ::dup2(fd, 2);
        if (in_child) in_child();
        std::vector<char*> argv;
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        ::execv(argv[0], argv.data());
        ::_exit(95);
    }
    return pid;
}

/// The exit code, or 128 + the signal that ended the process.
int wait_for(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) throw std::runtime_error(std::string("waitpid: ") + std::strerror(errno));
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int run(const std::vector<std::string>& args, const fs::path& log, const std::function<void()>& in_child = {}) {
    return wait_for(spawn(args, log, in_child));
}

/// Runs `args` and requires exit code `rc`; the log's text on success.
std::string run_expect(const std::vector<std::string>& args, const fs::path& log, int rc, const std::function<void()>& in_child = {}) {
    const int got = run(args, log, in_child);
    const std::string text = read_text(log);
    expect(got == rc, args[1] + " exited " + std::to_string(got) + ", expected " + std::to_string(rc) + "; its output:\n" + text);
    return text;
}

/// Every regular file under `dir` by relative path, with its bytes.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
    std::map<std::string, std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir))
        if (e.is_regular_file()) out[fs::relative(e.path(), dir).string()] = read_text(e.path());
    return out;
}

/// Names whose files differ between two snapshots (added, removed or changed), skipping `ignore`.
std::vector<std::string> changed(const std::map<std::string, std::string>& a, const std::map<std::string, std::string>& b,
                                 const std::vector<std::string>& ignore = {}) {
    std::vector<std::string> out;
    const auto skip = [&](const std::string& n) { return std::find(ignore.begin(), ignore.end(), n) != ignore.end(); };
    for (const auto& [name, bytes] : a)
        if (!skip(name) && (!b.count(name) || b.at(name) != bytes)) out.push_back(name);
    for (const auto& [name, bytes] : b)
        if (!skip(name) && !a.count(name)) out.push_back(name);
    return out;
}

std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
}

/// Entries of `dir` whose names start with a dot: what an interrupted write would leave.
std::vector<std::string> hidden_entries(const fs::path& dir) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.path().filename().string().front() == '.') out.push_back(e.path().filename().string());
    return out;
}

/// Loads every listed checkpoint under `root` the way resume does: trainer_state.json parses, both
/// safetensors files open, and every tensor's data is finite. Returns how many there are.
std::size_t check_checkpoints_load(const fs::path& root) {
    const auto all = sb::train::list_checkpoints(root);
    for (const auto& dir : all) {
        const auto state = sb::train::read_train_state(dir / "trainer_state.json");
        expect(dir.filename() == sb::train::checkpoint_name(state.step), dir.string() + " records step " + std::to_string(state.step));
        for (const char* file : {"model.safetensors", "optimizer.safetensors"}) {
            const sb::io::safetensors_file f(dir / file);
            expect(!f.names().empty(), (dir / file).string() + " holds no tensor");
            for (const auto& name : f.names()) {
                const auto bytes = f.raw_bytes(name);
                std::vector<float> v(bytes.size() / sizeof(float));
                std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
                for (float x : v) expect(std::isfinite(x), (dir / file).string() + ": tensor " + std::string(name) + " holds a non-finite value");
            }
        }
    }
    return all.size();
}

/// metrics.jsonl without the wall-clock field: what must equal an uninterrupted run's.
std::vector<std::string> loss_lines(const fs::path& metrics) {
    std::vector<std::string> out;
    std::istringstream in(read_text(metrics));
    for (std::string line; std::getline(in, line);) {
        auto j = nlohmann::json::parse(line);
        j.erase("elapsed_s");
        out.push_back(j.dump());
    }
    return out;
}

/// In a child about to exec as root: the permission bits apply to it, as to any other user
/// (CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH leave the bounding set, so the exec'd process lacks them).
void without_permission_override() {
    if (::geteuid() != 0) return;
    if (::prctl(PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, 0, 0, 0) != 0 || ::prctl(PR_CAPBSET_DROP, CAP_DAC_READ_SEARCH, 0, 0, 0) != 0) ::_exit(97);
}

/// A child's limit on file size, with SIGXFSZ ignored so an oversized write fails with EFBIG.
std::function<void()> file_size_limit(rlim_t bytes) {
    return [bytes] {
        std::signal(SIGXFSZ, SIG_IGN);
        rlimit r{};
        ::getrlimit(RLIMIT_FSIZE, &r);
        r.rlim_cur = bytes;
        if (::setrlimit(RLIMIT_FSIZE, &r) != 0) ::_exit(98);
    };
}

std::vector<std::string> tiny_train(const setup& s, const fs::path& out, int steps, int save_steps) {
    return {s.exe.string(), "train", "--model", s.tiny().string(), "--train", s.sts().string(), "--max-steps", std::to_string(steps),
            "--batch-size", "8", "--max-length", "16", "--backend", "reference", "--save-steps", std::to_string(save_steps),
            "--keep-checkpoints", "10", "--out", out.string()};
}

std::vector<std::string> with(std::vector<std::string> args, std::initializer_list<std::string> more) {
    args.insert(args.end(), more);
    return args;
}

// ---------------------------------------------------------------------------------------------
// kill: SIGKILL while checkpoint k is being written, at a delay spread over the write's length.

struct kill_kind {
    std::string name;
    std::function<std::vector<std::string>(const fs::path& out)> command;
};

/// Polls until `p` exists; false when `pid` exits first.
bool wait_for_path(const fs::path& p, pid_t pid) {
    std::error_code ec;
    for (;;) {
        if (fs::exists(p, ec)) return true;
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) == pid) return false;
        std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
}

/// What the killed process was doing at the kill, read from what it left in `root`.
std::string landed(const fs::path& root, int k, bool& inside) {
    const auto name = [](int step) { return sb::train::checkpoint_name(static_cast<std::uint64_t>(step)); };
    inside = false;
    std::error_code ec;
    const fs::path partial = root / ("." + name(k) + ".partial");
    if (fs::exists(partial, ec)) {
        inside = true;
        std::size_t files = 0, bytes = 0;
        for (const auto& e : fs::directory_iterator(partial, ec)) {
            ++files;
            if (e.is_regular_file()) bytes += e.file_size();
        }
        return "inside the write (" + std::to_string(files) + " files, " + std::to_string(bytes / 1024) + " KiB in " + partial.filename().string() + ")";
    }
    if (!fs::exists(root / name(k), ec)) return "before the write";
    if (k >= 3 && fs::exists(root / ("." + name(k - 2) + ".retired"), ec)) return "while removing " + name(k - 2);
    if (k >= 3 && fs::exists(root / name(k - 2), ec)) return "after the rename, before removing " + name(k - 2);
    return "after the save";
}

int kill_test(const setup& s, int trials) {
    fs::remove_all(s.work);
    fs::create_directories(s.work / "start-config");
    // A 1.4M-parameter BERT, so that one checkpoint (weights and two Adam moments) is ~17 MB and
    // its write lasts long enough to be interrupted at many different points.
    auto config = nlohmann::json::parse(read_text(s.tiny() / "config.json"));
    config["hidden_size"] = 192;
    config["num_hidden_layers"] = 3;
    config["num_attention_heads"] = 3;
    config["intermediate_size"] = 768;
    config["max_position_embeddings"] = 64;
    std::ofstream(s.work / "start-config" / "config.json") << config.dump(2);
    fs::copy_file(s.tiny() / "vocab.txt", s.work / "start-config" / "vocab.txt");
    const fs::path start = s.work / "start";
    run_expect({s.exe.string(), "pretrain", "--config", (s.work / "start-config" / "config.json").string(), "--corpus", s.corpus().string(),
                "--steps", "1", "--batch-size", "4", "--max-length", "32", "--threads", "1", "--quiet", "--out", start.string()},
               s.work / "start.log", 0);

    const int steps = 6;
    const std::vector<kill_kind> kinds{
        {"train", [&](const fs::path& out) {
             return std::vector<std::string>{s.exe.string(), "train", "--model", start.string(), "--train", s.sts().string(), "--max-steps",
                                             std::to_string(steps), "--batch-size", "8", "--max-length", "32", "--threads", "1", "--save-steps", "1",
                                             "--out", out.string()};
         }},
        {"pretrain", [&](const fs::path& out) {
             return std::vector<std::string>{s.exe.string(), "pretrain", "--init", start.string(), "--corpus", s.corpus().string(), "--steps",
                                             std::to_string(steps), "--batch-size", "4", "--max-length", "32", "--threads", "1", "--save-steps", "1",
                                             "--quiet", "--out", out.string()};
         }}};

    // Uninterrupted runs: the final weights and loss lines every resumed run must reproduce, and
    // how long writing checkpoints 2..steps takes (partial folder created -> renamed into place).
    std::vector<double> write_ms(kinds.size());
    for (std::size_t kind = 0; kind < kinds.size(); ++kind) {
        const fs::path out = s.work / ("uninterrupted-" + kinds[kind].name);
        const pid_t pid = spawn(kinds[kind].command(out), s.work / ("uninterrupted-" + kinds[kind].name + ".log"));
        double total = 0;
        int measured = 0;
        for (int k = 2; k <= steps; ++k) {
            const fs::path root = out / "checkpoints";
            if (!wait_for_path(root / ("." + sb::train::checkpoint_name(std::uint64_t(k)) + ".partial"), pid)) break;
            const auto t0 = clock_type::now();
            if (!wait_for_path(root / sb::train::checkpoint_name(std::uint64_t(k)), pid)) break;
            total += std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
            ++measured;
        }
        const int rc = wait_for(pid);
        expect(rc == 0, "the uninterrupted " + kinds[kind].name + " run exited " + std::to_string(rc) + ":\n" +
                            read_text(s.work / ("uninterrupted-" + kinds[kind].name + ".log")));
        expect(measured > 0, "no checkpoint write of the uninterrupted " + kinds[kind].name + " run was seen");
        write_ms[kind] = total / measured;
        std::printf("uninterrupted %s: %d checkpoint writes seen, %.1f ms each on average\n", kinds[kind].name.c_str(), measured, write_ms[kind]);
    }

    int inside = 0, done = 0;
    std::map<std::string, int> stages;
    for (int i = 0; i < trials; ++i) {
        const std::size_t kind = std::size_t(i) % kinds.size();
        const int k = 2 + (i / 2) % (steps - 1);                            // which checkpoint: 2..steps
        const double delay_ms = write_ms[kind] * 1.25 * double((i * 5) % 8) / 8.0; // 0 .. 1.1 write lengths
        const fs::path out = s.work / ("trial-" + std::to_string(i));
        const fs::path root = out / "checkpoints";
        const auto command = kinds[kind].command(out);
        const pid_t pid = spawn(command, s.work / ("trial-" + std::to_string(i) + ".log"));
        if (!wait_for_path(root / ("." + sb::train::checkpoint_name(std::uint64_t(k)) + ".partial"), pid)) {
            wait_for(pid);
            std::printf("trial %2d %-8s checkpoint %d: finished before the write was seen (not counted)\n", i, kinds[kind].name.c_str(), k);
            continue;
        }
        std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(delay_ms));
        ::kill(pid, SIGKILL);
        const int rc = wait_for(pid);
        bool in_write = false;
        const std::string where = rc == 128 + SIGKILL ? landed(root, k, in_write) : "after the process exited " + std::to_string(rc);
        const std::size_t loadable = check_checkpoints_load(root);
        expect(loadable >= 1, "trial " + std::to_string(i) + ": no checkpoint left under " + root.string());
        const auto last = sb::train::list_checkpoints(root).back();
        const auto last_step = sb::train::read_train_state(last / "trainer_state.json").step;
        expect(last_step >= std::uint64_t(k - 1), "trial " + std::to_string(i) + ": the newest checkpoint is step " + std::to_string(last_step) +
                                                      ", but step " + std::to_string(k - 1) + " had been saved");

        run_expect(with(command, {"--resume", "latest"}), s.work / ("trial-" + std::to_string(i) + "-resume.log"), 0);
        const fs::path reference = s.work / ("uninterrupted-" + kinds[kind].name);
        expect(read_text(out / "model.safetensors") == read_text(reference / "model.safetensors"),
               "trial " + std::to_string(i) + ": the resumed model.safetensors differs from the uninterrupted run's");
        expect(loss_lines(out / "metrics.jsonl") == loss_lines(reference / "metrics.jsonl"),
               "trial " + std::to_string(i) + ": the resumed metrics.jsonl differs from the uninterrupted run's (elapsed_s aside)");
        expect(hidden_entries(root).empty(), "trial " + std::to_string(i) + ": left behind in checkpoints/: " + join(hidden_entries(root)));
        std::printf("trial %2d %-8s checkpoint %d, kill %5.1f ms into the write: %s; %zu checkpoint(s) load, newest step %llu; "
                    "resumed to the same weights and losses\n",
                    i, kinds[kind].name.c_str(), k, delay_ms, where.c_str(), loadable, static_cast<unsigned long long>(last_step));
        inside += in_write;
        ++done;
        ++stages[where.substr(0, where.find(" ("))];
        fs::remove_all(out);
    }
    std::printf("%d kills, %d inside a checkpoint write; by stage:", done, inside);
    for (const auto& [stage, n] : stages) std::printf(" [%s] %d;", stage.c_str(), n);
    std::printf("\nafter every kill the previous checkpoint loaded and resuming gave bitwise the uninterrupted weights and losses\n");
    expect(done >= trials * 3 / 4, "only " + std::to_string(done) + " of " + std::to_string(trials) + " kills landed during a save");
    expect(inside >= done / 3, "only " + std::to_string(inside) + " of " + std::to_string(done) + " kills landed inside a checkpoint write");
    return 0;
}

// ---------------------------------------------------------------------------------------------
// disk-full: a file-size limit and (where this process may mount) a small tmpfs.

/// The checkpoint, report and model files under `dir` must be those of `before`; metrics.jsonl
/// may have been rewritten with the same first lines.
void expect_intact(const std::map<std::string, std::string>& before, const fs::path& dir, const std::string& what) {
    const auto diff = changed(before, snapshot(dir), {"metrics.jsonl"});
    expect(diff.empty(), what + ": files changed or left behind under " + dir.string() + ": " + join(diff));
}

void file_size_case(const setup& s) {
    const fs::path run_dir = s.work / "fsize";
    run_expect(tiny_train(s, run_dir, 4, 2), s.work / "fsize-first.log", 0);
    const auto before = snapshot(run_dir);
    // optimizer.safetensors (two moments) is twice model.safetensors: the limit lets the weights
    // through and stops the moments half-way.
    const auto model_bytes = fs::file_size(run_dir / "checkpoints" / "checkpoint-000004" / "model.safetensors");
    const auto text = run_expect(with(tiny_train(s, run_dir, 4, 2), {"--resume", (run_dir / "checkpoints" / "checkpoint-000002").string()}),
                                 s.work / "fsize-resume.log", 4, file_size_limit(model_bytes + 4096));
    expect(text.find("starbucks::io_error: " + (run_dir / "checkpoints" / ".checkpoint-000004.partial").string()) != std::string::npos &&
               text.find("File too large") != std::string::npos,
           "the error names neither the checkpoint file nor the cause:\n" + text);
    expect_intact(before, run_dir, "RLIMIT_FSIZE during checkpoint 4");
    expect(check_checkpoints_load(run_dir / "checkpoints") == 2, "RLIMIT_FSIZE: the two checkpoints no longer load");
    std::printf("file-size limit %llu bytes while re-writing checkpoint 4: exit 4, %s",
                static_cast<unsigned long long>(model_bytes + 4096), text.substr(text.find("starbucks::io_error")).c_str());
    std::printf("  checkpoints 2 and 4, the model and the reports are byte for byte as before\n");
}

/// Runs `body` in a child with a private mount namespace and `size` of tmpfs at `dir`; false when
/// this process may not mount (the child's exit code 77).
bool in_small_filesystem(const fs::path& dir, const std::string& size, const std::function<void()>& body) {
    fs::create_directories(dir);
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
        if (::unshare(CLONE_NEWNS) != 0 || ::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
            ::mount("tmpfs", dir.c_str(), "tmpfs", 0, ("size=" + size).c_str()) != 0) {
            std::printf("a small filesystem cannot be mounted here (%s); the file-size limit stands in for it\n", std::strerror(errno));
            std::fflush(nullptr);
            ::_exit(77);
        }
        int rc = 0;
        try {
            body();
        } catch (const std::exception& e) {
            std::printf("FAILED: %s\n", e.what());
            rc = 1;
        }
        std::fflush(nullptr);
        ::_exit(rc);
    }
    const int rc = wait_for(pid);
    expect(rc == 0 || rc == 77, "the small-filesystem case failed (exit " + std::to_string(rc) + ")");
    return rc == 0;
}

void small_filesystem_case(const setup& s) {
    const fs::path reference = s.work / "enospc-reference";
    run_expect(tiny_train(s, reference, 6, 1), s.work / "enospc-reference.log", 0);
    const fs::path disk = s.work / "small-disk";
    in_small_filesystem(disk, "600k", [&] {
        // A report first, while there is room; then training fills the disk.
        const fs::path report = disk / "report";
        const std::vector<std::string> eval{s.exe.string(), "eval", "sts", "--model", reference.string(), "--data", s.sts().string(),
                                            "--backend", "reference", "--out", report.string()};
        run_expect(eval, s.work / "enospc-eval.log", 0);
        const auto report_before = snapshot(report);

        const fs::path run_dir = disk / "run";
        const auto text = run_expect(tiny_train(s, run_dir, 6, 1), s.work / "enospc-train.log", 4);
        expect(text.find("No space left on device") != std::string::npos && text.find("starbucks::io_error: " + run_dir.string()) != std::string::npos,
               "the ENOSPC error names neither the file nor the cause:\n" + text);
        const fs::path root = run_dir / "checkpoints";
        const std::size_t kept = check_checkpoints_load(root);
        expect(kept >= 1, "ENOSPC: no checkpoint was kept");
        for (const auto& c : sb::train::list_checkpoints(root))
            for (const char* file : {"model.safetensors", "optimizer.safetensors"})
                expect(read_text(c / file) == read_text(reference / "checkpoints" / c.filename() / file),
                       (c / file).string() + " differs from the same checkpoint written with room to spare");
        expect(hidden_entries(root).empty(), "ENOSPC left behind: " + join(hidden_entries(root)));
        std::printf("tmpfs of 600 KiB, training: exit 4 at checkpoint %zu, %s", kept + 1, text.substr(text.find("starbucks::io_error")).c_str());
        std::printf("  checkpoints 1..%zu load and equal an unconstrained run's byte for byte; no partial folder left\n", kept);

        // Fill what the failed checkpoint gave back, then write the report again.
        {
            std::ofstream filler(disk / "filler", std::ios::binary);
            const std::string block(4096, 'x');
            while (filler.write(block.data(), std::streamsize(block.size())) && filler.flush()) {
            }
        }
        const auto again = run_expect(eval, s.work / "enospc-eval-full.log", 4);
        expect(again.find("No space left on device") != std::string::npos && again.find(report.string()) != std::string::npos,
               "the report's ENOSPC error names neither the file nor the cause:\n" + again);
        const auto diff = changed(report_before, snapshot(report));
        expect(diff.empty(), "the report folder changed on a full disk: " + join(diff));
        expect(hidden_entries(report).empty(), "the failed report left behind: " + join(hidden_entries(report)));
        std::printf("full tmpfs, eval sts --out: exit 4, %s", again.substr(again.find("starbucks::io_error")).c_str());
        std::printf("  the previous report.json, results.csv and heatmap are byte for byte as before\n");

        // With less room than two checkpoints, training is refused before it starts.
        const auto refused = run_expect(tiny_train(s, disk / "refused", 6, 1), s.work / "enospc-refused.log", 4);
        expect(refused.find("starbucks::io_error: " + (disk / "refused").string() + ": its filesystem has ") == 0 &&
                   refused.find("two checkpoints of this model need about") != std::string::npos,
               "a run that cannot save two checkpoints was not refused at the start:\n" + refused);
        expect(!fs::exists(disk / "refused"), "the refused run created its folder");
        std::printf("full tmpfs, train: refused before any step, %s", refused.c_str());
    });
}

int disk_full_test(const setup& s) {
    fs::remove_all(s.work);
    fs::create_directories(s.work);
    file_size_case(s);
    small_filesystem_case(s);
    return 0;
}

// ---------------------------------------------------------------------------------------------
// read-only: the output folder, or only its checkpoints/, without write permission.

int read_only_test(const setup& s) {
    std::error_code ec;
    if (fs::exists(s.work / "run", ec)) fs::permissions(s.work / "run", fs::perms::owner_all, ec); // a failed earlier run's
    fs::remove_all(s.work);
    fs::create_directories(s.work);
    const fs::path run_dir = s.work / "run";
    run_expect(tiny_train(s, run_dir, 4, 2), s.work / "first.log", 0);
    const auto before = snapshot(run_dir);
    const auto resume = with(tiny_train(s, run_dir, 4, 2), {"--resume", (run_dir / "checkpoints" / "checkpoint-000002").string()});
    const auto read_only = fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read | fs::perms::group_exec |
                           fs::perms::others_read | fs::perms::others_exec;

    // The precondition: this process's children really cannot write into a 0555 folder.
    fs::permissions(run_dir / "checkpoints", read_only);
    const int probe = run({"/bin/sh", "-c", "echo x > '" + (run_dir / "checkpoints" / "probe").string() + "'"}, s.work / "probe.log",
                          without_permission_override);
    expect(probe != 0 && !fs::exists(run_dir / "checkpoints" / "probe"), "a child could still write into a 0555 folder (exit " +
                                                                            std::to_string(probe) + "); the case would prove nothing");

    const auto text = run_expect(resume, s.work / "checkpoints-read-only.log", 4, without_permission_override);
    expect(text.find("Permission denied") != std::string::npos && text.find((run_dir / "checkpoints").string()) != std::string::npos,
           "the error names neither the folder nor the cause:\n" + text);
    expect_intact(before, run_dir, "a read-only checkpoints/");
    std::printf("checkpoints/ read-only, resume from checkpoint 2: exit 4, %s", text.substr(text.find("starbucks::io_error")).c_str());
    std::printf("  every file as before\n");

    fs::permissions(run_dir / "checkpoints", fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
    const auto before_whole = snapshot(run_dir);
    fs::permissions(run_dir, read_only);
    const auto whole = run_expect(resume, s.work / "out-read-only.log", 4, without_permission_override);
    expect(whole.find("Permission denied") != std::string::npos && whole.find(run_dir.string()) != std::string::npos,
           "the error names neither the folder nor the cause:\n" + whole);
    expect(whole.find("train step") == std::string::npos, "steps ran although the output folder is read-only:\n" + whole);
    const auto diff = changed(before_whole, snapshot(run_dir));
    expect(diff.empty(), "files changed in the read-only folder: " + join(diff));
    fs::permissions(run_dir, fs::perms::owner_all);
    std::printf("output folder read-only, resume: exit 4 before any step, %s", whole.substr(whole.find("starbucks::io_error")).c_str());
    std::printf("  every file as before\n");
    return 0;
}

// ---------------------------------------------------------------------------------------------
// interrupt: SIGINT/SIGTERM finish the step, commit a checkpoint and exit 128 + signal; a second
// SIGINT ends the process at once.

/// Lines in `path` (0 when it does not exist yet).
std::size_t line_count(const fs::path& path) {
    const std::string text = read_text(path);
    return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

/// Polls /proc/<pid>/status until `pid` no longer catches `sig` (its handler has run and reset).
void wait_until_not_caught(pid_t pid, int sig) {
    const auto deadline = clock_type::now() + std::chrono::seconds(10);
    while (clock_type::now() < deadline) {
        std::istringstream status(read_text("/proc/" + std::to_string(pid) + "/status"));
        for (std::string line; std::getline(status, line);)
            if (line.rfind("SigCgt:", 0) == 0 && !((std::stoull(line.substr(7), nullptr, 16) >> (sig - 1)) & 1u)) return;
    }
    throw check_failed("the first signal was not handled within 10 s");
}

/// Starts `args`, waits until metrics.jsonl under `out` has `lines` lines, sends `signals`
/// (each after the one before has been handled).
int run_and_signal(const std::vector<std::string>& args, const fs::path& out, const fs::path& log, std::size_t lines,
                   std::initializer_list<int> signals, bool& by_signal) {
    const pid_t pid = spawn(args, log);
    for (;;) {
        if (line_count(out / "metrics.jsonl") >= lines) break;
        int status = 0;
        expect(::waitpid(pid, &status, WNOHANG) == 0, "the run ended before step " + std::to_string(lines) + ":\n" + read_text(log));
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    int previous = 0;
    for (int sig : signals) {
        // A second signal sent before the first is handled would merge with it: wait until the
        // handler has run (it resets itself, so the process no longer catches the signal).
        if (previous != 0) wait_until_not_caught(pid, previous);
        ::kill(pid, sig);
        previous = sig;
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    by_signal = WIFSIGNALED(status);
    return by_signal ? WTERMSIG(status) : WEXITSTATUS(status);
}

int interrupt_test(const setup& s) {
    fs::remove_all(s.work);
    fs::create_directories(s.work);
    const int steps = 300; // long enough that the signal always lands mid-run (about 2 s here)
    const fs::path reference = s.work / "uninterrupted";
    run_expect(tiny_train(s, reference, steps, 0), s.work / "uninterrupted.log", 0);
    for (const auto& [signal, name] : {std::pair{SIGINT, "SIGINT"}, std::pair{SIGTERM, "SIGTERM"}}) {
        const fs::path out = s.work / name;
        bool by_signal = false;
        const int rc = run_and_signal(tiny_train(s, out, steps, 0), out, s.work / (std::string(name) + ".log"), 5, {signal}, by_signal);
        const std::string log = read_text(s.work / (std::string(name) + ".log"));
        expect(!by_signal && rc == 128 + signal, std::string(name) + ": expected exit " + std::to_string(128 + signal) + ", got " +
                                                     (by_signal ? "death by signal " : "exit ") + std::to_string(rc) + ":\n" + log);
        const auto saved = sb::train::list_checkpoints(out / "checkpoints");
        expect(saved.size() == 1 && check_checkpoints_load(out / "checkpoints") == 1, std::string(name) + ": no single loadable checkpoint");
        const auto step = sb::train::read_train_state(saved[0] / "trainer_state.json").step;
        expect(step == line_count(out / "metrics.jsonl"), std::string(name) + ": the checkpoint is step " + std::to_string(step) + " but " +
                                                              std::to_string(line_count(out / "metrics.jsonl")) + " steps were logged");
        expect(log.find("starbucks::interrupted: interrupted after step " + std::to_string(step) + "; checkpoint ") != std::string::npos &&
                   log.find("continue with --resume latest") != std::string::npos,
               std::string(name) + ": the message does not say where to continue:\n" + log);
        expect(!fs::exists(out / "model.safetensors"), std::string(name) + ": a final model was exported from an interrupted run");
        run_expect(with(tiny_train(s, out, steps, 0), {"--resume", "latest"}), s.work / (std::string(name) + "-resume.log"), 0);
        expect(read_text(out / "model.safetensors") == read_text(reference / "model.safetensors"),
               std::string(name) + ": the resumed model differs from the uninterrupted run's");
        expect(loss_lines(out / "metrics.jsonl") == loss_lines(reference / "metrics.jsonl"), std::string(name) + ": the resumed loss lines differ");
        std::printf("%s after step %llu of %d: exit %d, checkpoint %s committed; resumed to the uninterrupted weights and losses\n", name,
                    static_cast<unsigned long long>(step), steps, rc, saved[0].filename().c_str());
    }
    // Two SIGINTs: the first asks for a graceful stop, the second ends the process at once.
    const fs::path out = s.work / "twice";
    bool by_signal = false;
    // Eight micro-batches per step, so the step the first SIGINT lets finish outlasts the second's delivery.
    const int sig = run_and_signal(with(tiny_train(s, out, steps, 0), {"--accumulation", "8"}), out, s.work / "twice.log", 2, {SIGINT, SIGINT},
                                   by_signal);
    expect(by_signal && sig == SIGINT, "a second SIGINT did not end the process at once (" + std::string(by_signal ? "signal " : "exit ") +
                                           std::to_string(sig) + ")");
    check_checkpoints_load(out / "checkpoints");
    std::printf("two SIGINTs: the process ended by the second at once; whatever checkpoint it had committed loads\n");
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 5) {
        std::fprintf(stderr, "usage: %s kill|disk-full|read-only|interrupt <starbucks> <tests dir> <work dir> [trials]\n", argv[0]);
        return 2;
    }
    const std::string what = argv[1];
    const setup s{fs::absolute(argv[2]), fs::absolute(argv[3]), fs::absolute(argv[4])};
    try {
        if (what == "kill") return kill_test(s, argc > 5 ? std::stoi(argv[5]) : 16); // every delay twice, every checkpoint, both stages
        if (what == "disk-full") return disk_full_test(s);
        if (what == "read-only") return read_only_test(s);
        if (what == "interrupt") return interrupt_test(s);
        std::fprintf(stderr, "unknown case %s\n", what.c_str());
        return 2;
    } catch (const std::exception& e) {
        std::printf("FAILED: %s\n", e.what());
        return 1;
    }
}
