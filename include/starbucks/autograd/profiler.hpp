// SPDX-License-Identifier: Apache-2.0
// autograd::profiler: where a training step spends its time, per recorded op (forward and
// backward) and per named section (tokenizing, clipping, the optimizer), so each optimisation is
// chosen from data. Off unless activated; then the tape reads one clock per op.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "../config.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace autograd {

/// @brief Accumulated wall time per op and per section while it is active (on this thread).
///
/// Forward time of an op is the time since the previous op was recorded (or since `mark`), so it
/// includes the glue between ops and any unrecorded work before it (constant inputs, views that
/// need no gradient); backward time is the op's rule alone. Sections nest in no one: time them
/// outside the tape. The numbers are wall time on the calling thread, parallel regions included.
class profiler {
public:
    using clock = std::chrono::steady_clock;
    /// The time of one op or section.
    struct entry {
        double forward_s = 0;  ///< forward (ops) or the whole section
        double backward_s = 0; ///< backward rules (ops only)
        std::uint64_t calls = 0;
    };

    profiler() = default;
    profiler(const profiler&) = delete;
    profiler& operator=(const profiler&) = delete;
    ~profiler() {
        if (active_slot() == this) active_slot() = nullptr;
    }

    /// RAII: makes this profiler the one the tape and sections report to (per thread).
    class scope {
    public:
        explicit scope(profiler& p) noexcept : previous_(active_slot()) {
            active_slot() = &p;
            p.mark();
        }
        ~scope() { active_slot() = previous_; }
        scope(const scope&) = delete;
        scope& operator=(const scope&) = delete;

    private:
        profiler* previous_;
    };
    [[nodiscard]] scope activate() noexcept { return scope(*this); }

    /// The active profiler of this thread, or null (the common, free case).
    static profiler* active() noexcept { return active_slot(); }

    /// Starts the forward clock: the next recorded op is charged from here.
    void mark() noexcept { last_ = clock::now(); }

    /// Charges the time since the last mark to op `op`'s forward, and marks.
    void forward_done(const char* op) {
        const auto now = clock::now();
        auto& e = ops_[op];
        e.forward_s += seconds(now - last_);
        ++e.calls;
        last_ = now;
    }
    void add_backward(const char* op, double s) { ops_[op].backward_s += s; }
    void add_section(const std::string& name, double s) {
        auto& e = sections_[name];
        e.forward_s += s;
        ++e.calls;
    }

    /// RAII timer of a named section on the active profiler (nothing when none is active).
    class section {
    public:
        explicit section(const char* name) : p_(active()), name_(name), start_(p_ ? clock::now() : clock::time_point{}) {}
        ~section() {
            if (!p_) return;
            p_->add_section(name_, seconds(clock::now() - start_));
            p_->mark();
        }
        section(const section&) = delete;
        section& operator=(const section&) = delete;

    private:
        profiler* p_;
        const char* name_;
        clock::time_point start_;
    };

    /// One row of the report: an op (forward + backward) or a section.
    struct row {
        std::string name;
        bool is_section = false;
        entry time;
        double total_s() const noexcept { return time.forward_s + time.backward_s; }
    };
    /// Every op and section, most expensive first.
    std::vector<row> rows() const {
        std::vector<row> out;
        for (const auto& [name, e] : ops_) out.push_back({name, false, e});
        for (const auto& [name, e] : sections_) out.push_back({name, true, e});
        std::stable_sort(out.begin(), out.end(), [](const row& a, const row& b) { return a.total_s() > b.total_s(); });
        return out;
    }
    /// The sum over rows.
    double total_s() const {
        double t = 0;
        for (const auto& r : rows()) t += r.total_s();
        return t;
    }
    void clear() {
        ops_.clear();
        sections_.clear();
    }

    /// @brief The report as text: one line per row with forward, backward, total and its share
    /// of `wall_s` (the measured step time; 0 takes the sum of the rows), then what no row covers.
    std::string report(double wall_s = 0) const {
        const double all = wall_s > 0 ? wall_s : total_s();
        std::string s = "op / section            calls   forward s  backward s     total s   share\n";
        char line[160];
        for (const auto& r : rows()) {
            std::snprintf(line, sizeof line, "%-22s %7llu %11.4f %11.4f %11.4f %6.1f %%\n", (r.is_section ? "[" + r.name + "]" : r.name).c_str(),
                          static_cast<unsigned long long>(r.time.calls), r.time.forward_s, r.time.backward_s, r.total_s(),
                          all > 0 ? 100.0 * r.total_s() / all : 0.0);
            s += line;
        }
        if (wall_s > 0) {
            std::snprintf(line, sizeof line, "%-22s %7s %11s %11s %11.4f %6.1f %%\n", "(not covered)", "", "", "", wall_s - total_s(),
                          100.0 * (wall_s - total_s()) / wall_s);
            s += line;
        }
        return s;
    }

private:
    static double seconds(clock::duration d) noexcept { return std::chrono::duration<double>(d).count(); }
    static profiler*& active_slot() noexcept {
        thread_local profiler* active = nullptr;
        return active;
    }

    std::map<std::string, entry> ops_, sections_;
    clock::time_point last_ = clock::now();
};

} // namespace autograd
STARBUCKS_NAMESPACE_END
