// SPDX-License-Identifier: Apache-2.0
// starbucks: the command-line front end of the library, one file per subcommand.
//
// What it does: parses the command line with CLI11 and hands it to a subcommand (inspect,
// embed); every starbucks::error that escapes becomes ONE stderr line (its what(), which starts
// with `starbucks::`) and the exit code of its kind (RELIABILITY.md, section 2).
// Run: starbucks --help | starbucks --version | starbucks <cmd> --help
// Expect: exit 0 on success, 1 for bad flags, 2 bad input, 3 numerical failure, 4 I/O, 5 memory,
// 70 for our own bugs.
#include <cstdio>
#include <exception>
#include <new>
#include <string>

#include "common.hpp"
#include "runtime.hpp"
#include "world.hpp"

namespace {

/// The version and the backends compiled in (reference is always there).
std::string version_text() {
    std::string backends = "reference";
#ifdef STARBUCKS_WITH_EIGEN
    backends += ", cpu_eigen";
#endif
#ifdef STARBUCKS_WITH_ONEDNN
    backends += ", cpu_onednn";
#endif
#ifdef STARBUCKS_WITH_CUDA
    backends += ", cuda";
#endif
#ifdef STARBUCKS_WITH_TEXT
    std::string components = "text (WordPiece)";
#else
    std::string components = "none";
#endif
#ifdef STARBUCKS_WITH_MPI
    components += ", mpi (data-parallel train under mpirun)";
#endif
    return std::string("starbucks ") + STARBUCKS_VERSION_STRING + "\nbackends: " + backends + "\ncomponents: " + components;
}

/// One stderr line: control characters would break it, so they print as spaces.
void print_error(std::string line) {
    for (char& c : line)
        if (c == '\n' || c == '\r') c = ' ';
    std::fprintf(stderr, "%s\n", line.c_str());
}

/// The exit code of an error; under mpirun every other process ends with it too (none waits).
int failed(int exit_code) {
    starbucks_cli::end_world_after_error(exit_code);
    return exit_code;
}

} // namespace

int main(int argc, char** argv) {
    namespace cli = starbucks_cli;
    CLI::App app{"starbucks: 2D Matryoshka text embeddings (inspect model folders, embed text, export sub-models)", "starbucks"};
    app.set_version_flag("--version", version_text(), "Print the version and the enabled backends, then exit");
    app.require_subcommand(1);
    app.fallthrough(false);

    cli::inspect_options inspect;
    cli::embed_options embed;
    cli::export_options export_;
    cli::add_inspect(app, inspect);
    cli::add_embed(app, embed);
    cli::add_export(app, export_);
    cli::train_options train;
    cli::eval_options eval;
    cli::eval_retrieval_options eval_retrieval;
    cli::add_train(app, train);
    cli::add_eval(app, eval, eval_retrieval);
    cli::pretrain_options pretrain;
    cli::add_pretrain(app, pretrain);
    for (int i = 0; i < argc; ++i) cli::command_line() += (i ? " " : "") + std::string(argv[i]);

    try {
        try {
            app.parse(argc, argv);
        } catch (const CLI::CallForHelp& e) {
            return app.exit(e);
        } catch (const CLI::CallForAllHelp& e) {
            return app.exit(e);
        } catch (const CLI::CallForVersion& e) {
            return app.exit(e);
        } catch (const CLI::ParseError& e) {
            throw starbucks::usage_error("command line", std::string(e.what()) + "; see `starbucks --help`");
        }
        if (app.got_subcommand("inspect")) return cli::run_inspect(inspect);
        if (app.got_subcommand("embed")) return cli::run_embed(embed);
        if (app.got_subcommand("export")) return cli::run_export(export_);
        if (app.got_subcommand("train")) return cli::run_train(train);
        if (app.got_subcommand("eval"))
            return app.get_subcommand("eval")->got_subcommand("retrieval") ? cli::run_eval_retrieval(eval_retrieval) : cli::run_eval_sts(eval);
        if (app.got_subcommand("pretrain")) return cli::run_pretrain(pretrain);
        throw starbucks::internal_error("command line", "no subcommand ran");
    } catch (const starbucks::train::interrupted& e) {
        // Every process stopped at the same step, a clean exit; rank 0, which wrote the checkpoint, says so.
        if (const auto* world = cli::opened_world(); !world || world->rank() == 0)
            print_error(std::string("starbucks::interrupted: ") + e.what() + "; continue with --resume latest");
        return 128 + e.signal;
    } catch (const starbucks::error& e) {
        print_error(e.what());
        return failed(starbucks::exit_code(e.kind()));
    } catch (const std::bad_alloc&) {
        print_error("starbucks::resource_error: allocation failed");
        return failed(starbucks::exit_code(starbucks::error_kind::resource));
    } catch (const std::exception& e) {
        print_error(std::string("starbucks::internal_error: ") + e.what());
        return failed(starbucks::exit_code(starbucks::error_kind::internal));
    }
}
