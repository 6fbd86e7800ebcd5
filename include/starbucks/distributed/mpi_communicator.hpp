// SPDX-License-Identifier: Apache-2.0
// distributed::mpi_communicator: the communicator on MPI (Open MPI from Debian's libopenmpi-dev,
// or any MPI-3 library). Component starbucks::mpi. Every collective is non-blocking underneath
// and polled against a deadline, so a rank that died or runs different work ends in an error,
// never a hang.
#pragma once

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstddef>
#include <cstdlib>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "../config.hpp"
#include "../core/error.hpp"
#include "communicator.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace distributed {

/// @brief MPI_COMM_WORLD (a duplicate of it) as a communicator.
///
/// Initialises MPI when nobody has (MPI_THREAD_FUNNELED: only the thread that made it calls
/// MPI) and finalises it on destruction. A collective that has not completed after `timeout`
/// throws io_error naming the collective and this rank; so does one still waiting `stop_grace`
/// after `stop_check()` turned non-zero (a signal: Ctrl-C, or mpirun taking the job down after
/// another rank failed). After such an error the communicator is broken: call abort().
class mpi_communicator final : public communicator {
public:
    using clock = std::chrono::steady_clock;

    explicit mpi_communicator(std::chrono::milliseconds timeout = std::chrono::minutes(10)) : timeout_(timeout) {
        int ready = 0;
        MPI_Initialized(&ready);
        if (!ready) {
            int provided = 0;
            if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
                throw io_error("starbucks::distributed::mpi_communicator", "MPI_Init_thread failed");
            owns_mpi_ = true;
        }
        MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
        check(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_Comm_dup");
        MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
        check(MPI_Comm_dup(MPI_COMM_WORLD, &started_comm_), "MPI_Comm_dup");
        MPI_Comm_set_errhandler(started_comm_, MPI_ERRORS_RETURN);
        MPI_Comm_rank(comm_, &rank_);
        MPI_Comm_size(comm_, &size_);
    }
    mpi_communicator(const mpi_communicator&) = delete;
    mpi_communicator& operator=(const mpi_communicator&) = delete;
    ~mpi_communicator() override {
        // abort() is the way out of a broken group, or of one with sums still in flight (an
        // exception cut a step short); finalising could block.
        if (broken_ || next_started_ < started_.size()) return;
        MPI_Comm_free(&started_comm_);
        MPI_Comm_free(&comm_);
        if (owns_mpi_) MPI_Finalize();
    }

    int rank() const noexcept override { return rank_; }
    int size() const noexcept override { return size_; }
    std::string name() const override {
        char version[MPI_MAX_LIBRARY_VERSION_STRING] = {};
        int length = 0;
        MPI_Get_library_version(version, &length);
        std::string v(version, static_cast<std::size_t>(length));
        if (const auto cut = v.find_first_of(",\n"); cut != std::string::npos) v.resize(cut);
        return "MPI (" + v + ")";
    }

    /// How long a collective may wait for the other ranks.
    void set_timeout(std::chrono::milliseconds timeout) noexcept { timeout_ = timeout; }
    /// @brief `check()` is polled while waiting; once it returns non-zero (a signal number) the
    /// wait lasts at most `grace` more. Short by default: Open MPI's mpirun answers a dead rank
    /// or a Ctrl-C with SIGTERM to every rank and SIGKILL one second later, so a rank has that
    /// long to say why it stops.
    void set_stop_check(std::function<int()> check, std::chrono::milliseconds grace = std::chrono::milliseconds(500)) {
        stop_check_ = std::move(check);
        stop_grace_ = grace;
    }
    /// True after a collective failed or timed out.
    bool broken() const noexcept { return broken_; }
    /// Ends every rank of the job with `exit_code` (MPI_Abort); for errors, so no rank waits on this one.
    [[noreturn]] void abort(int exit_code) noexcept {
        broken_ = true;
        MPI_Abort(MPI_COMM_WORLD, exit_code);
        std::_Exit(exit_code);
    }

    void all_reduce_sum(std::span<float> values) override { reduce(values.data(), values.size(), MPI_FLOAT); }
    void all_reduce_sum(std::span<double> values) override { reduce(values.data(), values.size(), MPI_DOUBLE); }

    /// Started sums run on a communicator of their own, so the blocking collectives issued
    /// while they are in flight (a gather's backward) cannot be matched with them.
    void start_all_reduce_sum(std::span<float> values) override { start(values.data(), values.size(), MPI_FLOAT); }
    void start_all_reduce_sum(std::span<double> values) override { start(values.data(), values.size(), MPI_DOUBLE); }
    void progress() override {
        while (next_started_ < started_.size()) {
            int done = 0;
            check(MPI_Test(&started_[next_started_], &done, MPI_STATUS_IGNORE), "all_reduce (started)");
            if (!done) return;
            ++next_started_;
        }
    }
    void wait_all() override {
        for (; next_started_ < started_.size(); ++next_started_) wait(started_[next_started_], "all_reduce (started)");
        started_.clear();
        next_started_ = 0;
    }

    void broadcast(std::span<std::byte> bytes, int root) override {
        if (root < 0 || root >= size_) throw usage_error("starbucks::distributed::mpi_communicator", "broadcast from rank " + std::to_string(root) + " of " + std::to_string(size_));
        std::size_t done = 0;
        do { // one collective even for no bytes, so every rank takes part in the same calls
            const int n = static_cast<int>(std::min(chunk_limit, bytes.size() - done));
            MPI_Request request;
            check(MPI_Ibcast(bytes.data() + done, n, MPI_BYTE, root, comm_, &request), "broadcast");
            wait(request, "broadcast");
            done += static_cast<std::size_t>(n);
        } while (done < bytes.size());
    }

    void all_gather(std::span<const std::byte> mine, std::span<std::byte> all, std::span<const std::size_t> counts) override {
        constexpr const char* where = "starbucks::distributed::mpi_communicator";
        if (counts.size() != static_cast<std::size_t>(size_))
            throw shape_error(where, "all_gather with " + std::to_string(counts.size()) + " counts for " + std::to_string(size_) + " ranks");
        std::vector<int> sizes(counts.size()), offsets(counts.size());
        std::size_t total = 0;
        for (std::size_t r = 0; r < counts.size(); ++r) {
            if (total + counts[r] > static_cast<std::size_t>(INT_MAX))
                throw unsupported_error(where, "all_gather of more than 2 GiB in one call");
            sizes[r] = static_cast<int>(counts[r]);
            offsets[r] = static_cast<int>(total);
            total += counts[r];
        }
        if (mine.size() != counts[static_cast<std::size_t>(rank_)] || all.size() != total)
            throw shape_error(where, "all_gather: rank " + std::to_string(rank_) + " sends " + std::to_string(mine.size()) + " bytes (counts say " +
                                         std::to_string(counts[static_cast<std::size_t>(rank_)]) + ") into " + std::to_string(all.size()) +
                                         " (counts say " + std::to_string(total) + ")");
        MPI_Request request;
        check(MPI_Iallgatherv(mine.data(), sizes[static_cast<std::size_t>(rank_)], MPI_BYTE, all.data(), sizes.data(), offsets.data(), MPI_BYTE,
                              comm_, &request),
              "all_gather");
        wait(request, "all_gather");
    }

private:
    static constexpr std::size_t chunk_limit = std::size_t{1} << 30; // MPI counts are int

    void reduce(void* data, std::size_t count, MPI_Datatype type) {
        const std::size_t element = type == MPI_FLOAT ? sizeof(float) : sizeof(double);
        for (std::size_t done = 0; done < count; done += chunk_limit) {
            const int n = static_cast<int>(std::min(chunk_limit, count - done));
            MPI_Request request;
            check(MPI_Iallreduce(MPI_IN_PLACE, static_cast<char*>(data) + done * element, n, type, MPI_SUM, comm_, &request), "all_reduce");
            wait(request, "all_reduce");
        }
    }

    void start(void* data, std::size_t count, MPI_Datatype type) {
        const std::size_t element = type == MPI_FLOAT ? sizeof(float) : sizeof(double);
        for (std::size_t done = 0; done < count; done += chunk_limit) {
            MPI_Request request;
            check(MPI_Iallreduce(MPI_IN_PLACE, static_cast<char*>(data) + done * element, static_cast<int>(std::min(chunk_limit, count - done)), type,
                                 MPI_SUM, started_comm_, &request),
                  "all_reduce (started)");
            started_.push_back(request);
        }
    }

    std::string who() const { return "rank " + std::to_string(rank_) + " of " + std::to_string(size_); }

    void check(int code, const char* what) {
        if (code == MPI_SUCCESS) return;
        broken_ = true;
        char text[MPI_MAX_ERROR_STRING] = {};
        int length = 0;
        MPI_Error_string(code, text, &length);
        throw io_error("starbucks::distributed::mpi_communicator", std::string(what) + " on " + who() + " failed: " + std::string(text, static_cast<std::size_t>(length)));
    }

    /// Polls `request` until it completes, the timeout passes, or a stop outlives its grace.
    void wait(MPI_Request& request, const char* what) {
        const auto start = clock::now();
        std::optional<clock::time_point> stop_seen;
        for (;;) {
            int done = 0;
            check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), what);
            if (done) return;
            const auto now = clock::now();
            if (stop_check_ && !stop_seen && stop_check_() != 0) stop_seen = now;
            if (stop_seen && now - *stop_seen > stop_grace_) {
                broken_ = true;
                throw io_error("starbucks::distributed::mpi_communicator",
                               std::string(what) + " on " + who() + ": stopped by signal " + std::to_string(stop_check_()) +
                                   " while the other ranks did not answer (another rank failed or was stopped; see its error)");
            }
            if (now - start > timeout_) {
                broken_ = true;
                throw io_error("starbucks::distributed::mpi_communicator",
                               std::string(what) + " on " + who() + ": no answer from the other ranks after " +
                                   std::to_string(std::chrono::duration_cast<std::chrono::seconds>(timeout_).count()) +
                                   " s (a rank died, failed, or runs different work; raise --collective-timeout for slow steps)");
            }
            // MPI progresses a non-blocking collective only inside MPI calls, so poll without
            // pause (as MPI's own blocking calls spin); after a second of waiting (a slower rank,
            // rank 0 writing a checkpoint) pause between polls to leave the core to others.
            if (now - start > std::chrono::seconds(1)) std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
    }

    MPI_Comm comm_ = MPI_COMM_NULL;
    MPI_Comm started_comm_ = MPI_COMM_NULL;
    std::vector<MPI_Request> started_; // completed ones are MPI_REQUEST_NULL
    std::size_t next_started_ = 0;     // the first not known complete
    int rank_ = 0;
    int size_ = 1;
    bool owns_mpi_ = false;
    bool broken_ = false;
    std::chrono::milliseconds timeout_;
    std::function<int()> stop_check_;
    std::chrono::milliseconds stop_grace_{std::chrono::milliseconds(500)};
};

} // namespace distributed
STARBUCKS_NAMESPACE_END
