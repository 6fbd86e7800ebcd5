// SPDX-License-Identifier: Apache-2.0
// The BERT WordPiece tokenizer, equal to transformers' BertTokenizerFast (HF tokenizers).
#pragma once

#ifndef STARBUCKS_WITH_TEXT
#error "starbucks/text/wordpiece.hpp needs utf8proc: enable STARBUCKS_WITH_TEXT and link starbucks::text"
#endif

#include <algorithm>
#include <array>
#include <concepts>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <optional>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../core/error.hpp"
#include "detail/files.hpp"
#include "detail/unicode.hpp"
#include "detail/utf8.hpp"
#include "vocab.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace text {

/// @brief The settings of HF's `BertNormalizer`, applied in this order.
struct bert_normalizer_options {
    /// Drop NUL, U+FFFD and control characters (Cc, Cf, Co other than TAB, LF, CR); turn
    /// every whitespace character into a space.
    bool clean_text = true;
    /// Put spaces around CJK ideographs, so each becomes a word of its own.
    bool handle_chinese_chars = true;
    /// NFD, then drop nonspacing marks (Mn). Unset: follows `lowercase`, as in HF.
    std::optional<bool> strip_accents = std::nullopt;
    /// Lower-case each code point (full mapping; final sigma is not special-cased).
    bool lowercase = true;
};

/// @brief Everything a tokenizer.json says about a BERT WordPiece tokenizer besides its vocab.
struct wordpiece_options {
    bert_normalizer_options normalizer{};
    /// Marks a piece that continues a word.
    std::string continuing_subword_prefix = "##";
    /// Longer words (counted in code points after normalisation) become `unk_token`.
    std::size_t max_input_chars_per_word = 100;
    std::string unk_token = "[UNK]";
    /// Tokens recognised verbatim in the raw text before normalisation (HF's added tokens
    /// with normalized=false): "[MASK]" in the input is the mask id, "[mask]" is not.
    std::vector<std::string> special_tokens{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
};

/// How `encode` pads: not at all, to the longest encoding of the batch, or to `max_length`.
enum class padding { none, longest, max_length };

/// @brief Truncation and padding of one call, as the same arguments of BertTokenizerFast.
struct encode_options {
    /// Tokens per encoding, [CLS] and [SEP] included; 0 means no limit.
    std::size_t max_length = 0;
    /// Cut encodings longer than `max_length` (HF's "longest_first" for pairs).
    bool truncation = true;
    padding pad = padding::none;
};

/// @brief One encoded text or pair: `[CLS] A [SEP]` or `[CLS] A [SEP] B [SEP]`, then padding.
struct encoding {
    std::vector<token_id> ids;
    /// 0 for `[CLS] A [SEP]`, 1 for `B [SEP]`, 0 for padding.
    std::vector<token_id> type_ids;
    /// 1 for tokens, 0 for padding.
    std::vector<token_id> attention_mask;

    std::size_t size() const noexcept { return ids.size(); }
    friend bool operator==(const encoding&, const encoding&) = default;
};

namespace detail {

/// @brief HF's BertNormalizer, one code point at a time.
///
/// Each stage is a per-code-point map, so feeding code points through all stages in turn
/// equals HF's stage-by-stage pass over the whole string. The exception is NFD's canonical
/// reordering of combining marks; it is applied to marks held back until the next starter.
/// Nonspacing marks are dropped on arrival: a stable sort followed by a filter equals the
/// filter followed by the sort, and it keeps the held-back marks few.
class bert_normalizer {
public:
    explicit bert_normalizer(const bert_normalizer_options& o)
        : clean_text_(o.clean_text), cjk_(o.handle_chinese_chars), strip_accents_(o.strip_accents.value_or(o.lowercase)),
          lowercase_(o.lowercase) {}

    template <class Emit>
    void push(char32_t c, Emit& emit) {
        if (clean_text_) {
            if (c == 0 || c == replacement_character || is_bert_control(c)) return;
            if (is_white_space(c)) c = ' ';
        }
        if (cjk_ && is_cjk_ideograph(c)) {
            decompose(' ', emit);
            decompose(c, emit);
            decompose(' ', emit);
            return;
        }
        decompose(c, emit);
    }

    /// Emits the marks still held back; call at the end of each segment.
    template <class Emit>
    void flush(Emit& emit) {
        if (marks_.empty()) return;
        std::stable_sort(marks_.begin(), marks_.end(),
                         [](char32_t a, char32_t b) { return combining_class(a) < combining_class(b); });
        for (const char32_t m : marks_) lower(m, emit);
        marks_.clear();
    }

private:
    template <class Emit>
    void decompose(char32_t c, Emit& emit) {
        if (!strip_accents_) {
            lower(c, emit);
            return;
        }
        char32_t parts[max_decomposition];
        const std::size_t n = canonical_decomposition(c, parts);
        for (std::size_t i = 0; i < n; ++i) {
            const char32_t d = parts[i];
            if (is_nonspacing_mark(d)) continue;
            if (combining_class(d) == 0) {
                flush(emit);
                lower(d, emit);
            } else {
                marks_.push_back(d);
            }
        }
    }

    template <class Emit>
    void lower(char32_t c, Emit& emit) {
        if (!lowercase_) {
            emit(c);
            return;
        }
        char32_t out[2];
        const std::size_t n = to_lower(c, out);
        for (std::size_t i = 0; i < n; ++i) emit(out[i]);
    }

    bool clean_text_, cjk_, strip_accents_, lowercase_;
    std::vector<char32_t> marks_; // combining marks (ccc > 0, not Mn) awaiting canonical order
};

} // namespace detail

/// @brief The BERT WordPiece tokenizer of transformers' `BertTokenizerFast`.
///
/// The pipeline is HF tokenizers': special tokens matched in the raw text, `BertNormalizer`,
/// `BertPreTokenizer` (split on whitespace, isolate each punctuation character: ASCII
/// punctuation or a Unicode P* category), `WordPiece` (greedy longest match first, `##`
/// continuations, a word over `max_input_chars_per_word` code points or with an unmatched
/// rest becomes `[UNK]`), then the template `[CLS] A [SEP]` / `[CLS] A [SEP] B:1 [SEP]:1`.
///
/// **Runtime text is never an error.** Text is taken as bytes; ill-formed UTF-8 decodes to
/// U+FFFD per maximal subpart, as Python's `bytes.decode("utf-8", errors="replace")` does,
/// and the BERT cleanup then drops it with NUL and control characters. Empty text encodes
/// to `[CLS] [SEP]`.
///
/// **Cost.** Linear in the text: each word costs at most `max_input_chars_per_word` times
/// the longest vocab token in lookups. With truncation the text is only read until
/// `max_length` tokens exist; a pair whose texts both overflow an odd budget is read on
/// until the shorter one ends, because HF gives the longer text the extra token.
///
/// Unicode properties come from utf8proc (see detail/unicode.hpp for the code points, all
/// assigned after Unicode 9, that HF classifies differently). Immutable after construction:
/// one tokenizer may encode on many threads at once.
class wordpiece {
public:
    /// @brief A tokenizer over `v` with `options` (default: uncased, like bert-base-uncased).
    /// @throws usage_error when `unk_token` or a special token is not in the vocab, or
    /// `max_input_chars_per_word` is 0.
    explicit wordpiece(text::vocab v, wordpiece_options options = {})
        : vocab_(std::move(v)), options_(std::move(options)) {
        static const std::string where = "starbucks::text::wordpiece";
        if (options_.max_input_chars_per_word == 0) throw usage_error(where, "max_input_chars_per_word must be at least 1");
        const auto unk = vocab_.find(options_.unk_token);
        if (!unk) throw usage_error(where, "unk_token " + detail::in_quotes(options_.unk_token) + " is not in the vocab");
        unk_id_ = *unk;
        for (const std::string& s : options_.special_tokens) {
            const auto id = vocab_.find(s);
            if (!id) throw usage_error(where, "special token " + detail::in_quotes(s) + " is not in the vocab");
            specials_.emplace_back(s, *id);
            first_bytes_[static_cast<unsigned char>(s[0])] = true; // vocab tokens are never empty
        }
        // Longest first, so the first match at a position is the leftmost-longest one.
        std::stable_sort(specials_.begin(), specials_.end(),
                         [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
    }

    /// @brief The tokenizer a parsed tokenizer.json describes.
    ///
    /// Needs a `WordPiece` model, `BertNormalizer`, `BertPreTokenizer`, and the BERT template
    /// (`TemplateProcessing` or `BertProcessing`); added tokens must be vocab tokens with the
    /// same id, matched verbatim (normalized, lstrip, rstrip, single_word all false). The
    /// file's `truncation` and `padding` are not used: each call states its own, as with
    /// transformers.
    /// @throws unsupported_error for any other model, normalizer, pre-tokenizer, template or
    /// added token; format_error for missing or mistyped fields and vocab errors.
    static wordpiece from_tokenizer_json(const nlohmann::json& doc, const std::string& name) {
        text::vocab v = text::vocab::from_tokenizer_json(doc, name);
        wordpiece_options o;

        const nlohmann::json& norm = doc.at("normalizer");
        o.normalizer.clean_text = get_bool(norm, "clean_text", true, name, "normalizer");
        o.normalizer.handle_chinese_chars = get_bool(norm, "handle_chinese_chars", true, name, "normalizer");
        o.normalizer.lowercase = get_bool(norm, "lowercase", true, name, "normalizer");
        if (const auto* s = detail::member(norm, "strip_accents"); s != nullptr && !s->is_null()) {
            if (!s->is_boolean()) throw format_error(name, "normalizer.strip_accents", "must be a boolean or null");
            o.normalizer.strip_accents = s->get<bool>();
        }

        const nlohmann::json* pre = detail::member(doc, "pre_tokenizer");
        const nlohmann::json* pre_type = pre != nullptr && pre->is_object() ? detail::member(*pre, "type") : nullptr;
        if (pre_type == nullptr || *pre_type != "BertPreTokenizer")
            throw unsupported_error(name, "pre_tokenizer",
                                    (pre_type != nullptr ? detail::excerpt(*pre_type) : std::string("missing")) +
                                        "; starbucks supports only BertPreTokenizer");

        const nlohmann::json& model = doc.at("model");
        o.unk_token = get_string(model, "unk_token", "[UNK]", name, "model");
        o.continuing_subword_prefix = get_string(model, "continuing_subword_prefix", "##", name, "model");
        if (const auto* m = detail::member(model, "max_input_chars_per_word")) {
            if (!m->is_number_integer() || m->get<std::int64_t>() < 1)
                throw format_error(name, "model.max_input_chars_per_word", "must be a positive integer");
            o.max_input_chars_per_word = static_cast<std::size_t>(m->get<std::int64_t>());
        }
        if (!v.contains(o.unk_token))
            throw format_error(name, "model.unk_token", detail::in_quotes(o.unk_token) + " is not in model.vocab");

        check_post_processor(doc, v, name);
        o.special_tokens = added_tokens(doc, v, name);
        return wordpiece(std::move(v), std::move(o));
    }

    /// @brief Reads tokenizer.json (strict JSON, at most 256 MiB); when `vocab_txt` is given,
    /// it must hold the same tokens with the same ids.
    static wordpiece load_tokenizer_json(const std::filesystem::path& tokenizer_json,
                                         const std::optional<std::filesystem::path>& vocab_txt = std::nullopt) {
        const std::string name = detail::display_name(tokenizer_json);
        wordpiece w = from_tokenizer_json(detail::parse_json(detail::read_file(tokenizer_json), name), name);
        if (vocab_txt) check_same_vocab(text::vocab::load_txt(*vocab_txt), detail::display_name(*vocab_txt), w.vocab_, name);
        return w;
    }

    /// @brief The tokenizer of a model folder: tokenizer.json (checked against vocab.txt when
    /// both exist), else vocab.txt with the flags of tokenizer_config.json if present
    /// (do_lower_case, strip_accents, tokenize_chinese_chars).
    /// @throws io_error when the folder holds neither file; otherwise as the loaders.
    static wordpiece load(const std::filesystem::path& dir) {
        const auto json = dir / "tokenizer.json", txt = dir / "vocab.txt", config = dir / "tokenizer_config.json";
        std::error_code ec;
        const bool has_txt = std::filesystem::exists(txt, ec);
        if (std::filesystem::exists(json, ec))
            return load_tokenizer_json(json, has_txt ? std::optional<std::filesystem::path>(txt) : std::nullopt);
        if (!has_txt) throw io_error(detail::display_name(dir), "holds neither tokenizer.json nor vocab.txt");
        wordpiece_options o;
        if (std::filesystem::exists(config, ec)) {
            const std::string name = detail::display_name(config);
            const nlohmann::json c = detail::parse_json(detail::read_file(config), name);
            if (!c.is_object()) throw format_error(name, "top level must be a JSON object");
            if (const auto* k = detail::member(c, "tokenizer_class"); k != nullptr && k->is_string()) {
                static constexpr std::array<std::string_view, 4> known{"BertTokenizer", "BertTokenizerFast",
                                                                       "DistilBertTokenizer", "DistilBertTokenizerFast"};
                if (std::find(known.begin(), known.end(), k->get<std::string>()) == known.end())
                    throw unsupported_error(name, "tokenizer_class", detail::in_quotes(k->get<std::string>()) +
                                                                         "; starbucks supports only BERT WordPiece tokenizers");
            }
            o.normalizer.lowercase = get_bool(c, "do_lower_case", true, name, "");
            o.normalizer.handle_chinese_chars = get_bool(c, "tokenize_chinese_chars", true, name, "");
            if (const auto* s = detail::member(c, "strip_accents"); s != nullptr && !s->is_null()) {
                if (!s->is_boolean()) throw format_error(name, "strip_accents", "must be a boolean or null");
                o.normalizer.strip_accents = s->get<bool>();
            }
        }
        return wordpiece(text::vocab::load_txt(txt), std::move(o));
    }

    const text::vocab& vocabulary() const noexcept { return vocab_; }
    const wordpiece_options& options() const noexcept { return options_; }

    /// @brief The text after the BERT normalizer alone (HF's `normalizer.normalize_str`).
    std::string normalize(std::string_view text) const {
        std::string out;
        detail::bert_normalizer n(options_.normalizer);
        auto emit = [&out](char32_t c) { detail::append_utf8(out, c); };
        for (std::size_t i = 0; i < text.size();) {
            const auto d = detail::decode_utf8(text, i);
            n.push(d.code_point, emit);
            i += d.size;
        }
        n.flush(emit);
        return out;
    }

    /// @brief The WordPiece ids of `text`, without [CLS]/[SEP] and without truncation.
    std::vector<token_id> tokenize(std::string_view text) const {
        std::vector<token_id> ids;
        piece_stream s(*this, text);
        pull(s, no_limit, ids);
        return ids;
    }

    /// @brief `[CLS] text [SEP]`, truncated and padded as `opts` says.
    /// @throws usage_error when `max_length` cannot hold [CLS] and [SEP], or padding to
    /// max_length has no max_length.
    encoding encode(std::string_view text, const encode_options& opts = {}) const {
        encoding e = encode_one(text, opts);
        if (opts.pad == padding::max_length) pad_to(e, opts.max_length);
        return e;
    }

    /// @brief `[CLS] a [SEP] b [SEP]` with type ids 0 then 1; truncation is HF's longest_first.
    encoding encode(std::string_view a, std::string_view b, const encode_options& opts = {}) const {
        encoding e = encode_two(a, b, opts);
        if (opts.pad == padding::max_length) pad_to(e, opts.max_length);
        return e;
    }

    /// @brief Encodes each text; `padding::longest` pads to the longest encoding of the batch.
    template <std::ranges::input_range R>
        requires std::convertible_to<std::ranges::range_reference_t<R>, std::string_view>
    std::vector<encoding> encode_batch(R&& texts, const encode_options& opts = {}) const {
        std::vector<encoding> out;
        for (auto&& t : texts) out.push_back(encode_one(std::string_view(t), opts));
        pad_batch(out, opts);
        return out;
    }

    std::vector<encoding> encode_batch(std::initializer_list<std::string_view> texts, const encode_options& opts = {}) const {
        return encode_batch(std::span<const std::string_view>(texts.begin(), texts.size()), opts);
    }

    /// @brief Encodes the pairs (a[i], b[i]).
    /// @throws usage_error when the two ranges differ in length.
    template <std::ranges::forward_range RA, std::ranges::forward_range RB>
        requires std::convertible_to<std::ranges::range_reference_t<RA>, std::string_view> &&
                 std::convertible_to<std::ranges::range_reference_t<RB>, std::string_view>
    std::vector<encoding> encode_batch(RA&& a, RB&& b, const encode_options& opts = {}) const {
        const auto na = std::ranges::distance(a), nb = std::ranges::distance(b);
        if (na != nb)
            throw usage_error("starbucks::text::wordpiece::encode_batch",
                              std::to_string(na) + " first texts but " + std::to_string(nb) + " second texts");
        std::vector<encoding> out;
        auto ib = std::ranges::begin(b);
        for (auto ia = std::ranges::begin(a); ia != std::ranges::end(a); ++ia, ++ib)
            out.push_back(encode_two(std::string_view(*ia), std::string_view(*ib), opts));
        pad_batch(out, opts);
        return out;
    }

private:
    static constexpr std::size_t no_limit = std::numeric_limits<std::size_t>::max();

    /// @brief The WordPiece ids of one text, produced on demand so truncation can stop early.
    class piece_stream {
    public:
        piece_stream(const wordpiece& w, std::string_view text) : w_(w), text_(text), norm_(w.options_.normalizer) {}

        bool next(token_id& id) {
            while (head_ == queue_.size())
                if (!fill()) return false;
            id = queue_[head_++];
            return true;
        }

    private:
        // Runs the pipeline until at least one id is queued; false once the text is used up.
        bool fill() {
            queue_.clear();
            head_ = 0;
            auto emit = [this](char32_t c) { pre_tokenize(c); };
            while (queue_.empty()) {
                if (pos_ >= text_.size()) {
                    if (ended_) return false;
                    end_segment(emit);
                    ended_ = true;
                    continue;
                }
                if (const auto sp = w_.match_special(text_, pos_); sp.second != 0) {
                    // HF splits the raw text at special tokens; each piece is normalised alone.
                    end_segment(emit);
                    queue_.push_back(sp.first);
                    pos_ += sp.second;
                    continue;
                }
                const auto d = detail::decode_utf8(text_, pos_);
                pos_ += d.size;
                norm_.push(d.code_point, emit);
            }
            return true;
        }

        template <class Emit>
        void end_segment(Emit& emit) {
            norm_.flush(emit);
            finish_word();
        }

        // BertPreTokenizer: whitespace ends a word and is dropped; punctuation is a word alone.
        void pre_tokenize(char32_t c) {
            if (detail::is_white_space(c)) {
                finish_word();
            } else if (detail::is_bert_punctuation(c)) {
                finish_word();
                add(c);
                finish_word();
            } else {
                add(c);
            }
        }

        // Only the first max+1 code points are kept: a longer word is [UNK] whatever it holds.
        void add(char32_t c) {
            if (word_chars_ <= w_.options_.max_input_chars_per_word) word_.push_back(c);
            ++word_chars_;
        }

        void finish_word() {
            if (word_chars_ == 0) return;
            if (word_chars_ > w_.options_.max_input_chars_per_word)
                queue_.push_back(w_.unk_id_);
            else
                w_.word_pieces(word_, queue_, bytes_, bounds_);
            word_.clear();
            word_chars_ = 0;
        }

        const wordpiece& w_;
        std::string_view text_;
        std::size_t pos_ = 0;
        bool ended_ = false;
        detail::bert_normalizer norm_;
        std::u32string word_;
        std::size_t word_chars_ = 0;
        std::vector<token_id> queue_;
        std::size_t head_ = 0;
        std::string bytes_;                // scratch of word_pieces
        std::vector<std::size_t> bounds_;  // scratch of word_pieces
    };

    // The special token starting at text[pos] as (id, length in bytes); length 0 if none.
    std::pair<token_id, std::size_t> match_special(std::string_view text, std::size_t pos) const {
        if (!first_bytes_[static_cast<unsigned char>(text[pos])]) return {0, 0};
        const std::string_view rest = text.substr(pos);
        for (const auto& [s, id] : specials_)
            if (rest.starts_with(s)) return {id, s.size()};
        return {0, 0};
    }

    /// @brief Greedy longest-match-first WordPiece of one word, appended to `out`; a word
    /// with an unmatched rest is [UNK] as a whole.
    ///
    /// `bytes` holds prefix + word. A continuation starting at word byte s is looked up as
    /// one view: the prefix is copied over the bytes just before s, which belong to pieces
    /// already emitted. Candidates longer than the longest vocab token are never tried.
    void word_pieces(const std::u32string& word, std::vector<token_id>& out, std::string& bytes,
                     std::vector<std::size_t>& bounds) const {
        const std::string& prefix = options_.continuing_subword_prefix;
        const std::size_t p = prefix.size();
        bytes.assign(prefix);
        bounds.clear();
        for (const char32_t c : word) {
            bounds.push_back(bytes.size() - p);
            detail::append_utf8(bytes, c);
        }
        const std::size_t n = bytes.size() - p;
        bounds.push_back(n); // bounds: byte offset of each code point in the word, then the end
        const std::size_t longest = vocab_.max_token_bytes();
        const std::size_t first_out = out.size();
        std::size_t b = 0; // index into bounds of the current start
        while (bounds[b] < n) {
            const std::size_t start = bounds[b];
            const std::size_t budget = start == 0 ? longest : (longest > p ? longest - p : 0);
            const std::size_t last =
                static_cast<std::size_t>(std::upper_bound(bounds.begin() + static_cast<std::ptrdiff_t>(b), bounds.end(), start + budget) -
                                         bounds.begin()) - 1;
            if (start > 0) std::memcpy(bytes.data() + start, prefix.data(), p);
            std::size_t e = last;
            for (; e > b; --e) {
                const std::string_view key = start == 0 ? std::string_view(bytes).substr(p, bounds[e])
                                                        : std::string_view(bytes).substr(start, p + bounds[e] - start);
                if (const auto id = vocab_.find(key)) {
                    out.push_back(*id);
                    break;
                }
            }
            if (e == b) {
                out.resize(first_out);
                out.push_back(unk_id_);
                return;
            }
            b = e;
        }
    }

    // Appends up to `limit` ids; true when the text ran out first.
    static bool pull(piece_stream& s, std::size_t limit, std::vector<token_id>& out) {
        token_id id;
        while (out.size() < limit) {
            if (!s.next(id)) return true;
            out.push_back(id);
        }
        return false;
    }

    // For texts both longer than the budget: reads both on in step until one ends.
    static bool first_is_longer(piece_stream& a, piece_stream& b) {
        token_id id;
        for (;;) {
            const bool more_a = a.next(id), more_b = b.next(id);
            if (!more_a || !more_b) return more_a;
        }
    }

    // Token budget for the texts once `specials` template tokens are counted; no_limit if none.
    static std::size_t budget(const encode_options& opts, std::size_t specials, const char* what) {
        if (opts.pad == padding::max_length && opts.max_length == 0)
            throw usage_error("starbucks::text::wordpiece::encode", "padding to max_length needs max_length > 0");
        if (!opts.truncation || opts.max_length == 0) return no_limit;
        if (opts.max_length < specials)
            throw usage_error("starbucks::text::wordpiece::encode", "max_length " + std::to_string(opts.max_length) +
                                                                         " cannot hold the " + std::to_string(specials) +
                                                                         " special tokens of " + what);
        return opts.max_length - specials;
    }

    encoding encode_one(std::string_view text, const encode_options& opts) const {
        const std::size_t m = budget(opts, 2, "[CLS] A [SEP]");
        std::vector<token_id> a;
        piece_stream s(*this, text);
        pull(s, m, a);
        return assemble(a, nullptr);
    }

    encoding encode_two(std::string_view text_a, std::string_view text_b, const encode_options& opts) const {
        const std::size_t m = budget(opts, 3, "[CLS] A [SEP] B [SEP]");
        std::vector<token_id> a, b;
        piece_stream sa(*this, text_a), sb(*this, text_b);
        if (m == no_limit) {
            pull(sa, no_limit, a);
            pull(sb, no_limit, b);
            return assemble(a, &b);
        }
        // HF's longest_first needs each length only up to m + 1, and which text is longer.
        const bool a_ended = pull(sa, m + 1, a);
        const bool b_ended = pull(sb, m + 1, b);
        if (a.size() + b.size() > m) {
            bool a_longer;
            if (a_ended && b_ended)
                a_longer = a.size() > b.size();
            else if (a_ended || b_ended)
                a_longer = b_ended; // the one that has not ended holds more than m tokens
            else
                a_longer = m % 2 == 1 && first_is_longer(sa, sb); // an even split needs no winner
            // Shorter text s: kept whole if 2s <= m, the longer one gets the rest; otherwise
            // m/2 each, and the odd token goes to the longer text (the second one on a tie).
            const std::size_t s = a_longer ? b.size() : a.size();
            std::size_t keep_short = m / 2, keep_long = m / 2 + m % 2;
            if (2 * s <= m) {
                keep_short = s;
                keep_long = m - s;
            }
            a.resize(std::min(a.size(), a_longer ? keep_long : keep_short));
            b.resize(std::min(b.size(), a_longer ? keep_short : keep_long));
        }
        return assemble(a, &b);
    }

    encoding assemble(const std::vector<token_id>& a, const std::vector<token_id>* b) const {
        encoding e;
        const std::size_t n = a.size() + 2 + (b != nullptr ? b->size() + 1 : 0);
        e.ids.reserve(n);
        e.ids.push_back(vocab_.cls_id());
        e.ids.insert(e.ids.end(), a.begin(), a.end());
        e.ids.push_back(vocab_.sep_id());
        e.type_ids.assign(e.ids.size(), 0);
        if (b != nullptr) {
            e.ids.insert(e.ids.end(), b->begin(), b->end());
            e.ids.push_back(vocab_.sep_id());
            e.type_ids.resize(e.ids.size(), 1);
        }
        e.attention_mask.assign(e.ids.size(), 1);
        return e;
    }

    void pad_to(encoding& e, std::size_t n) const {
        if (e.ids.size() >= n) return;
        e.ids.resize(n, vocab_.pad_id());
        e.type_ids.resize(n, 0);
        e.attention_mask.resize(n, 0);
    }

    void pad_batch(std::vector<encoding>& batch, const encode_options& opts) const {
        std::size_t n = 0;
        if (opts.pad == padding::max_length) n = opts.max_length;
        if (opts.pad == padding::longest)
            for (const encoding& e : batch) n = std::max(n, e.size());
        for (encoding& e : batch) pad_to(e, n);
    }

    // ---- tokenizer.json fields ----

    static bool get_bool(const nlohmann::json& obj, const char* key, bool fallback, const std::string& name,
                         const std::string& parent) {
        const nlohmann::json* v = obj.is_object() ? detail::member(obj, key) : nullptr;
        if (v == nullptr) return fallback;
        if (!v->is_boolean()) throw format_error(name, (parent.empty() ? "" : parent + ".") + key, "must be a boolean");
        return v->get<bool>();
    }

    static std::string get_string(const nlohmann::json& obj, const char* key, const char* fallback, const std::string& name,
                                  const std::string& parent) {
        const nlohmann::json* v = obj.is_object() ? detail::member(obj, key) : nullptr;
        if (v == nullptr) return fallback;
        if (!v->is_string()) throw format_error(name, parent + "." + key, "must be a string");
        return v->get<std::string>();
    }

    // The post-processor must add [CLS] A [SEP] / [CLS] A [SEP] B:1 [SEP]:1 with vocab ids.
    static void check_post_processor(const nlohmann::json& doc, const text::vocab& v, const std::string& name) {
        const nlohmann::json* pp = detail::member(doc, "post_processor");
        const nlohmann::json* type = pp != nullptr && pp->is_object() ? detail::member(*pp, "type") : nullptr;
        const auto unsupported = [&](const std::string& why) {
            return unsupported_error(name, "post_processor", why + "; starbucks supports only the BERT template [CLS] $A [SEP] / [CLS] $A [SEP] $B:1 [SEP]:1");
        };
        if (type == nullptr) throw unsupported(pp == nullptr || pp->is_null() ? "missing" : "has no type");
        const auto special = [](const char* id, int type_id) {
            return nlohmann::json{{"SpecialToken", {{"id", id}, {"type_id", type_id}}}};
        };
        const auto sequence = [](const char* id, int type_id) {
            return nlohmann::json{{"Sequence", {{"id", id}, {"type_id", type_id}}}};
        };
        if (*type == "TemplateProcessing") {
            const nlohmann::json single = nlohmann::json::array({special("[CLS]", 0), sequence("A", 0), special("[SEP]", 0)});
            const nlohmann::json pair = nlohmann::json::array(
                {special("[CLS]", 0), sequence("A", 0), special("[SEP]", 0), sequence("B", 1), special("[SEP]", 1)});
            const nlohmann::json* s = detail::member(*pp, "single");
            const nlohmann::json* p = detail::member(*pp, "pair");
            if (s == nullptr || *s != single) throw unsupported("a different single template");
            if (p == nullptr || *p != pair) throw unsupported("a different pair template");
            const nlohmann::json* st = detail::member(*pp, "special_tokens");
            for (const char* tok : {"[CLS]", "[SEP]"}) {
                const nlohmann::json* entry = st != nullptr && st->is_object() ? detail::member(*st, tok) : nullptr;
                const nlohmann::json* ids = entry != nullptr && entry->is_object() ? detail::member(*entry, "ids") : nullptr;
                if (ids == nullptr || *ids != nlohmann::json::array({v.id(tok)}))
                    throw format_error(name, std::string("post_processor.special_tokens ") + tok,
                                       "ids must be [" + std::to_string(v.id(tok)) + "], the id in model.vocab");
            }
        } else if (*type == "BertProcessing") {
            for (const char* key : {"cls", "sep"}) {
                const char* tok = key[0] == 'c' ? "[CLS]" : "[SEP]";
                const nlohmann::json* e = detail::member(*pp, key);
                if (e == nullptr || !e->is_array() || e->size() != 2 || !(*e)[0].is_string())
                    throw format_error(name, std::string("post_processor.") + key, "must be [token, id]");
                if ((*e)[0] != tok) throw unsupported(std::string(key) + " token " + detail::excerpt((*e)[0]));
                if ((*e)[1] != v.id(tok))
                    throw format_error(name, std::string("post_processor.") + key,
                                       "id must be " + std::to_string(v.id(tok)) + ", the id in model.vocab");
            }
        } else {
            throw unsupported(detail::excerpt(*type));
        }
    }

    // The added tokens, which must already be vocab tokens matched verbatim.
    static std::vector<std::string> added_tokens(const nlohmann::json& doc, const text::vocab& v, const std::string& name) {
        std::vector<std::string> out;
        const nlohmann::json* list = detail::member(doc, "added_tokens");
        if (list == nullptr || list->is_null()) return out;
        if (!list->is_array()) throw format_error(name, "added_tokens", "must be an array");
        for (std::size_t i = 0; i < list->size(); ++i) {
            const nlohmann::json& t = (*list)[i];
            const std::string object = "added_tokens[" + std::to_string(i) + "]";
            const nlohmann::json* content = t.is_object() ? detail::member(t, "content") : nullptr;
            const nlohmann::json* id = t.is_object() ? detail::member(t, "id") : nullptr;
            if (content == nullptr || !content->is_string() || content->get<std::string>().empty())
                throw format_error(name, object, "needs a non-empty string \"content\"");
            if (id == nullptr || !id->is_number_integer()) throw format_error(name, object, "needs an integer \"id\"");
            const std::string c = content->get<std::string>();
            const auto in_vocab = v.find(c);
            if (!in_vocab) throw unsupported_error(name, object, detail::in_quotes(c) + " is not in model.vocab; added tokens outside the vocab are not supported");
            if (*in_vocab != id->get<std::int64_t>())
                throw format_error(name, object, detail::in_quotes(c) + " has id " + std::to_string(id->get<std::int64_t>()) +
                                                     " but " + std::to_string(*in_vocab) + " in model.vocab");
            for (const char* flag : {"lstrip", "rstrip", "single_word", "normalized"}) {
                const nlohmann::json* f = detail::member(t, flag);
                if (f != nullptr && !f->is_boolean()) throw format_error(name, object + "." + flag, "must be a boolean");
                if (f != nullptr && f->get<bool>())
                    throw unsupported_error(name, object, detail::in_quotes(c) + " sets " + flag + "; only verbatim matching is supported");
            }
            out.push_back(c);
        }
        return out;
    }

    text::vocab vocab_;
    wordpiece_options options_;
    token_id unk_id_ = 0;
    std::vector<std::pair<std::string, token_id>> specials_; // longest first
    std::array<bool, 256> first_bytes_{};                     // first bytes of the special tokens
};

} // namespace text
STARBUCKS_NAMESPACE_END
