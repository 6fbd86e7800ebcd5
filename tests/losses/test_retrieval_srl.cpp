// SPDX-License-Identifier: Apache-2.0
// losses::retrieval_srl and losses::prefix_scores: the reference formulation's values and
// gradients (torch, [pairs × B × B·G × width], tests/fixtures/losses/generate_retrieval.py) on
// every backend in float64 and float32, float64 gradcheck, and the prefix-sum scores against
// direct products of prefixes.
#include "testing.hpp"

#include "../autograd/autograd_testing.hpp"
#include "losses_testing.hpp"

#include <starbucks/losses/retrieval_srl.hpp>

#include <fstream>
#include <vector>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_retrieval_srl {

using namespace starbucks;
using starbucks::testing::random;
namespace ag = starbucks::autograd;
namespace mt = starbucks::matryoshka;
namespace st = starbucks::testing;

namespace {

const nlohmann::json& retrieval_fixture() {
    static const nlohmann::json doc = [] {
        std::ifstream in(std::string(STARBUCKS_LOSSES_FIXTURES) + "/retrieval_srl.json");
        REQUIRE(in.good());
        return nlohmann::json::parse(in);
    }();
    return doc;
}

mt::pair_list pairs_of(const nlohmann::json& c) {
    std::vector<mt::size_pair> v;
    for (const auto& p : c.at("pairs")) v.push_back({p.at(0).get<std::size_t>(), p.at(1).get<std::size_t>()});
    return mt::pair_list(v);
}

} // namespace

TEST_CASE_TEMPLATE("losses retrieval_srl: terms, total and gradients equal the torch reference formulation", B, STARBUCKS_TEST_BACKENDS) {
    auto run = [](const nlohmann::json& c, auto zero) {
        using T = decltype(zero);
        std::vector<ag::var<T, dextents<2>, B>> q, p;
        for (const auto& x : c.at("q")) q.push_back(ag::parameter(st::fixture_matrix<T, B>(x)));
        for (const auto& x : c.at("p")) p.push_back(ag::parameter(st::fixture_matrix<T, B>(x)));
        ag::tape t;
        std::vector<mt::term_report> terms;
        {
            auto guard = t.activate();
            const auto loss = losses::retrieval_srl(q, p, pairs_of(c), c.at("group_size").get<std::size_t>(), c.at("kl_weight").get<double>());
            terms = loss.terms();
            CHECK(st::value_error(loss.total(), c.at("total").get<double>()) <= (std::is_same_v<T, double> ? 1e-12 : 1e-5));
            loss.backward(t);
        }
        const double tol = std::is_same_v<T, double> ? 1e-10 : 1e-5;
        REQUIRE(terms.size() == c.at("terms").size());
        for (const auto& r : terms) {
            INFO(r.name);
            REQUIRE(c.at("terms").contains(r.name));
            CHECK(st::value_error(r.value, c.at("terms").at(r.name).get<double>()) <= tol);
        }
        for (std::size_t n = 0; n < q.size(); ++n) {
            INFO("layer " << n);
            CHECK(st::normwise_error(st::grad_values(q[n]), st::fixture_flat(c.at("grad_q").at(n))) <= tol);
            CHECK(st::normwise_error(st::grad_values(p[n]), st::fixture_flat(c.at("grad_p").at(n))) <= tol);
        }
    };
    REQUIRE(retrieval_fixture().at("cases").size() == 4);
    for (const auto& c : retrieval_fixture().at("cases")) {
        INFO(c.at("name").get<std::string>());
        run(c, 0.0);
        run(c, 0.0f);
    }
}

TEST_CASE("losses retrieval_srl: passes float64 gradcheck in queries and passages of every layer") {
    // 3 layers of 2 queries and 2·3 passages, width 5, stacked so gradcheck sees two leaves.
    // The KL teacher is detached, so its numeric gradient (which sees the teacher move) differs
    // from the analytic one by design: the cross-entropy terms are checked on every layer with
    // the KL off, the KL terms with the teacher's layer held constant.
    auto queries = random<double>(dextents<2>(4 * 2, 5), 901, -1.0, 1.0);
    auto passages = random<double>(dextents<2>(4 * 6, 5), 902, -1.0, 1.0);
    const mt::pair_list pairs({{1, 2}, {2, 4}, {3, 5}});
    auto ce_only = [&](const auto& vq, const auto& vp) {
        std::vector<ag::var<double, dextents<2>>> q, p;
        for (std::size_t n = 0; n < 4; ++n) q.push_back(ag::slice(vq, 0, 2 * n, 2 * n + 2)), p.push_back(ag::slice(vp, 0, 6 * n, 6 * n + 6));
        return losses::retrieval_srl(q, p, pairs, 3, 0.0).sum();
    };
    // layer 0 feeds no pair: its entries have zero analytic and numeric gradient
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(ce_only, queries, passages), queries.size() + passages.size());

    auto students_q = random<double>(dextents<2>(3 * 2, 5), 903, -1.0, 1.0);
    auto students_p = random<double>(dextents<2>(3 * 6, 5), 904, -1.0, 1.0);
    const auto teacher_q = random<double>(dextents<2>(2, 5), 905, -1.0, 1.0), teacher_p = random<double>(dextents<2>(6, 5), 906, -1.0, 1.0);
    auto with_kl = [&](const auto& vq, const auto& vp) {
        std::vector<ag::var<double, dextents<2>>> q, p;
        for (std::size_t n = 0; n < 3; ++n) q.push_back(ag::slice(vq, 0, 2 * n, 2 * n + 2)), p.push_back(ag::slice(vp, 0, 6 * n, 6 * n + 6));
        q.push_back(ag::constant_input(teacher_q));
        p.push_back(ag::constant_input(teacher_p));
        return losses::retrieval_srl(q, p, pairs, 3, 0.7).sum();
    };
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(with_kl, students_q, students_p), students_q.size() + students_p.size());
}

TEST_CASE("losses prefix_scores: several dims of one layer accumulate blocks and equal each prefix product") {
    const auto qt = random<double>(dextents<2>(3, 9), 911), pt = random<double>(dextents<2>(7, 9), 912);
    const std::vector<ag::var<double, dextents<2>>> q{ag::constant_input(qt), ag::constant_input(qt)};
    const std::vector<ag::var<double, dextents<2>>> p{ag::constant_input(pt), ag::constant_input(pt)};
    const std::vector<mt::size_pair> sizes{{1, 9}, {1, 2}, {1, 5}, {1, 2}};
    const auto s = losses::prefix_scores(q, p, sizes);
    REQUIRE(s.size() == 4);
    for (std::size_t k = 0; k < sizes.size(); ++k) {
        const auto v = s[k].value();
        for (std::size_t i = 0; i < 3; ++i)
            for (std::size_t j = 0; j < 7; ++j) {
                double want = 0;
                for (std::size_t c = 0; c < sizes[k].dim; ++c) want += qt(i, c) * pt(j, c);
                CHECK(v(i, j) == doctest::Approx(want).epsilon(1e-12));
            }
    }
    CHECK_THROWS_AS(losses::prefix_scores(q, p, {{2, 4}}), shape_error);  // no layer 2
    CHECK_THROWS_AS(losses::prefix_scores(q, p, {{1, 10}}), shape_error); // wider than the vectors
}

TEST_CASE("losses retrieval_srl: passages that are not B·G rows are a shape error") {
    const auto qt = random<double>(dextents<2>(3, 4), 921), pt = random<double>(dextents<2>(7, 4), 922);
    const std::vector<ag::var<double, dextents<2>>> q{ag::constant_input(qt), ag::constant_input(qt)};
    const std::vector<ag::var<double, dextents<2>>> p{ag::constant_input(pt), ag::constant_input(pt)};
    CHECK_THROWS_WITH_AS(losses::retrieval_srl(q, p, mt::pair_list({{1, 4}}), 2), doctest::Contains("7 passages for 3 queries in groups of 2"), shape_error);
}

} }  // namespace test_retrieval_srl
