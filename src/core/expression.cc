// The expression language: a hand-written lexer and recursive-descent parser build an
// immutable tree; evaluation walks it against a scope without copying scope values
// until a result leaves the module.
//
// Longer than our ~600-line guide on purpose: the lexer, parser and evaluator share
// the node types and the error positions, and reading them in one file is the point.
//
// Positions in messages are 1-based character offsets ("unexpected ')' at 8" points at
// the eighth byte). For Expression::Parse they count in the expression's own text; in
// templates and conditions they count in the whole string, braces included.
//
// Everything is bounded: source length and nesting by the header's limits, the depth
// of rendered or compared JSON values by kMaxValueDepth, the nesting of a templated
// value by kMaxTemplateDepth. Recursion never goes deeper than those bounds.
#include "core/expression.h"

#include <charconv>
#include <cmath>
#include <compare>
#include <cstdint>
#include <functional>
#include <vector>

namespace sw {

using nlohmann::json;

struct Expression::Node {
  enum class Kind { kLiteral, kPath, kNot, kAnd, kOr, kCompare };
  enum class Op { kEq, kNe, kLt, kLe, kGt, kGe };
  struct Segment {
    bool is_index = false;
    std::string name;  // For ".name".
    size_t index = 0;  // For "[index]".
  };

  Kind kind = Kind::kLiteral;
  size_t position = 0;            // 1-based; of the operator for kCompare, else of the first token.
  json literal;                   // kLiteral.
  std::string root;               // kPath: input, steps or run.
  std::vector<Segment> segments;  // kPath.
  Op op = Op::kEq;                // kCompare.
  std::vector<std::unique_ptr<const Node>> operands;  // kNot (1), kAnd/kOr (2+), kCompare (2).
};

namespace {

using Node = Expression::Node;
using NodePtr = std::unique_ptr<const Node>;

// JSON values nested deeper than this are not compared or rendered into strings, so
// that the recursion of equality and of nlohmann's serializer stays bounded.
constexpr int kMaxValueDepth = 256;
// The deepest templated definition value (objects and arrays) that is rendered.
constexpr int kMaxTemplateDepth = 64;
// How much of a string or token is quoted back in a message.
constexpr size_t kMaxQuotedLength = 60;

std::string Shorten(std::string_view text) {
  if (text.size() <= kMaxQuotedLength) {
    return std::string(text);
  }
  return std::string(text.substr(0, kMaxQuotedLength - 3)) + "...";
}

std::string At(size_t position) { return " at " + std::to_string(position); }

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || IsDigit(c) || c == '-'; }
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string DescribeChar(char c) {
  const auto byte = static_cast<unsigned char>(c);
  if (byte >= 0x20 && byte < 0x7f) {
    return std::string("'") + c + "'";
  }
  static constexpr char kHex[] = "0123456789abcdef";
  return std::string("byte 0x") + kHex[byte >> 4] + kHex[byte & 0xf];
}

// Index of the first byte that is not part of valid UTF-8, or npos.
size_t FindInvalidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    int length = 0;
    uint32_t cp = 0;
    if (b < 0x80) {
      ++i;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) {
      length = 2;
      cp = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
      length = 3;
      cp = b & 0x0f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      length = 4;
      cp = b & 0x07;
    } else {
      return i;
    }
    if (s.size() - i < static_cast<size_t>(length)) {
      return i;
    }
    for (int k = 1; k < length; ++k) {
      const auto cont = static_cast<unsigned char>(s[i + k]);
      if ((cont & 0xc0) != 0x80) {
        return i;
      }
      cp = (cp << 6) | (cont & 0x3f);
    }
    const bool overlong = (length == 3 && cp < 0x800) || (length == 4 && cp < 0x10000);
    if (overlong || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
      return i;
    }
    i += length;
  }
  return std::string_view::npos;
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

enum class TokenKind {
  kEnd,
  kNumber,
  kString,
  kIdentifier,
  kDot,
  kLeftBracket,
  kRightBracket,
  kLeftParen,
  kRightParen,
  kNot,
  kAnd,
  kOr,
  kCompare,
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  size_t position = 0;    // 1-based, in the reported frame.
  std::string_view text;  // The token's source text.
  json value;             // kNumber and kString.
  Node::Op op = Node::Op::kEq;
};

std::string Describe(const Token& token) {
  if (token.kind == TokenKind::kEnd) {
    return "end of expression";
  }
  return "'" + Shorten(token.text) + "'";
}

// Splits the source into tokens. `base` is the number of bytes before the source in
// the string that positions are reported in.
class Lexer {
 public:
  Lexer(std::string_view source, size_t base) : source_(source), base_(base) {}

  Result<std::vector<Token>> Run() {
    std::vector<Token> tokens;
    while (true) {
      Result<Token> token = Next();
      if (!token.ok()) {
        return token.status();
      }
      const bool end = token->kind == TokenKind::kEnd;
      tokens.push_back(std::move(token).value());
      if (end) {
        return tokens;
      }
    }
  }

 private:
  size_t Position(size_t index) const { return base_ + index + 1; }
  Status Error(size_t index, const std::string& what) const {
    return InvalidArgument(what + At(Position(index)));
  }
  char PeekAt(size_t index) const { return index < source_.size() ? source_[index] : '\0'; }

  Token Make(TokenKind kind, size_t start, size_t length, Node::Op op = Node::Op::kEq) {
    pos_ = start + length;
    Token token;
    token.kind = kind;
    token.position = Position(start);
    token.text = source_.substr(start, length);
    token.op = op;
    return token;
  }

  Result<Token> Next() {
    while (pos_ < source_.size() && IsSpace(source_[pos_])) {
      ++pos_;
    }
    const size_t start = pos_;
    if (start == source_.size()) {
      return Make(TokenKind::kEnd, start, 0);
    }
    const char c = source_[start];
    const char next = PeekAt(start + 1);
    switch (c) {
      case '.':
        return Make(TokenKind::kDot, start, 1);
      case '[':
        return Make(TokenKind::kLeftBracket, start, 1);
      case ']':
        return Make(TokenKind::kRightBracket, start, 1);
      case '(':
        return Make(TokenKind::kLeftParen, start, 1);
      case ')':
        return Make(TokenKind::kRightParen, start, 1);
      case '!':
        return next == '=' ? Make(TokenKind::kCompare, start, 2, Node::Op::kNe)
                           : Make(TokenKind::kNot, start, 1);
      case '<':
        return next == '=' ? Make(TokenKind::kCompare, start, 2, Node::Op::kLe)
                           : Make(TokenKind::kCompare, start, 1, Node::Op::kLt);
      case '>':
        return next == '=' ? Make(TokenKind::kCompare, start, 2, Node::Op::kGe)
                           : Make(TokenKind::kCompare, start, 1, Node::Op::kGt);
      case '=':
        if (next != '=') {
          return Error(start, "unexpected '=' (use '==' to compare)");
        }
        return Make(TokenKind::kCompare, start, 2, Node::Op::kEq);
      case '&':
        if (next != '&') {
          return Error(start, "unexpected '&' (use '&&')");
        }
        return Make(TokenKind::kAnd, start, 2);
      case '|':
        if (next != '|') {
          return Error(start, "unexpected '|' (use '||')");
        }
        return Make(TokenKind::kOr, start, 2);
      case '\'':
      case '"':
        return LexString(start);
      default:
        break;
    }
    if (c == '-' || IsDigit(c)) {
      return LexNumber(start);
    }
    if (IsNameStart(c)) {
      size_t end = start + 1;
      while (end < source_.size() && IsNameChar(source_[end])) {
        ++end;
      }
      return Make(TokenKind::kIdentifier, start, end - start);
    }
    return Error(start, "unexpected character " + DescribeChar(c));
  }

  size_t SkipDigits(size_t index) const {
    while (index < source_.size() && IsDigit(source_[index])) {
      ++index;
    }
    return index;
  }

  Result<Token> LexNumber(size_t start) {
    size_t end = start + (source_[start] == '-' ? 1 : 0);
    if (!IsDigit(PeekAt(end))) {
      return Error(start, "expected a digit after '-'");
    }
    end = SkipDigits(end);
    bool is_float = false;
    if (PeekAt(end) == '.') {
      if (!IsDigit(PeekAt(end + 1))) {
        return Error(end, "expected a digit after '.' in a number");
      }
      end = SkipDigits(end + 1);
      is_float = true;
    }
    if (PeekAt(end) == 'e' || PeekAt(end) == 'E') {
      size_t digits = end + 1;
      if (PeekAt(digits) == '+' || PeekAt(digits) == '-') {
        ++digits;
      }
      if (!IsDigit(PeekAt(digits))) {
        return Error(end, "expected digits in the exponent of a number");
      }
      end = SkipDigits(digits);
      is_float = true;
    }
    Token token = Make(TokenKind::kNumber, start, end - start);
    const char* first = source_.data() + start;
    const char* last = source_.data() + end;
    if (is_float) {
      double d = 0;
      const auto [ptr, ec] = std::from_chars(first, last, d);
      if (ec != std::errc() || ptr != last || !std::isfinite(d)) {
        return Error(start, "number '" + Shorten(token.text) + "' is out of range");
      }
      token.value = d;
    } else {
      int64_t i = 0;
      const auto [ptr, ec] = std::from_chars(first, last, i);
      if (ec != std::errc() || ptr != last) {
        return Error(start, "integer '" + Shorten(token.text) + "' is out of range");
      }
      token.value = i;
    }
    return token;
  }

  // Reads the four hex digits of a \u escape at `index`; -1 when they are not there.
  int64_t ReadHex4(size_t index) const {
    int64_t value = 0;
    for (size_t k = index; k < index + 4; ++k) {
      const char c = PeekAt(k);
      int digit = -1;
      if (IsDigit(c)) {
        digit = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        digit = c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        digit = c - 'A' + 10;
      }
      if (digit < 0) {
        return -1;
      }
      value = value * 16 + digit;
    }
    return value;
  }

  // Decodes the \u escape whose backslash is at `index` (with a following low
  // surrogate escape when it is a high surrogate); returns the code point and
  // advances pos_ past it.
  Result<uint32_t> LexUnicodeEscape(size_t index) {
    const int64_t high = ReadHex4(index + 2);
    if (high < 0) {
      return Error(index, "expected four hex digits after '\\u'");
    }
    pos_ = index + 6;
    if (high >= 0xdc00 && high <= 0xdfff) {
      return Error(index, "unpaired surrogate in '\\u' escape");
    }
    if (high < 0xd800 || high > 0xdbff) {
      return static_cast<uint32_t>(high);
    }
    const int64_t low = PeekAt(pos_) == '\\' && PeekAt(pos_ + 1) == 'u' ? ReadHex4(pos_ + 2) : -1;
    if (low < 0xdc00 || low > 0xdfff) {
      return Error(index, "unpaired surrogate in '\\u' escape");
    }
    pos_ += 6;
    return static_cast<uint32_t>(0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00));
  }

  Result<Token> LexString(size_t start) {
    const char quote = source_[start];
    std::string value;
    pos_ = start + 1;
    while (pos_ < source_.size()) {
      const char c = source_[pos_];
      if (c == quote) {
        Token token = Make(TokenKind::kString, start, pos_ + 1 - start);
        token.value = std::move(value);
        return token;
      }
      if (c != '\\') {
        value.push_back(c);
        ++pos_;
        continue;
      }
      const char escape = PeekAt(pos_ + 1);
      if (escape == 'u') {
        Result<uint32_t> cp = LexUnicodeEscape(pos_);
        if (!cp.ok()) {
          return cp.status();
        }
        AppendUtf8(value, *cp);
        continue;
      }
      switch (escape) {
        case '\\':
        case '\'':
        case '"':
        case '/':
          value.push_back(escape);
          break;
        case 'n':
          value.push_back('\n');
          break;
        case 't':
          value.push_back('\t');
          break;
        case 'r':
          value.push_back('\r');
          break;
        case 'b':
          value.push_back('\b');
          break;
        case 'f':
          value.push_back('\f');
          break;
        case '\0':
          if (pos_ + 1 >= source_.size()) {
            return Error(start, "unterminated string");
          }
          [[fallthrough]];
        default:
          return Error(pos_, "unknown escape '\\' followed by " + DescribeChar(escape));
      }
      pos_ += 2;
    }
    return Error(start, "unterminated string");
  }

  std::string_view source_;
  size_t base_;
  size_t pos_ = 0;
};

// Builds the tree from the tokens (which end with kEnd). Nesting through "(" and "!"
// is bounded by kMaxExpressionDepth, so the recursion is too.
class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  Result<NodePtr> Run() {
    if (Peek().kind == TokenKind::kEnd) {
      return InvalidArgument("empty expression" + At(Peek().position));
    }
    Result<NodePtr> root = ParseLogical(TokenKind::kOr, 1);
    if (!root.ok()) {
      return root;
    }
    if (Peek().kind != TokenKind::kEnd) {
      return Unexpected();
    }
    return root;
  }

 private:
  const Token& Peek() const { return tokens_[next_]; }
  const Token& Take() {
    const Token& token = tokens_[next_];
    if (token.kind != TokenKind::kEnd) {
      ++next_;
    }
    return token;
  }
  Status Unexpected() const {
    return InvalidArgument("unexpected " + Describe(Peek()) + At(Peek().position));
  }
  static Status TooDeep(const Token& token) {
    return InvalidArgument("expression is nested deeper than " +
                           std::to_string(kMaxExpressionDepth) + " levels" + At(token.position));
  }

  // or := and ("||" and)*  and  and := unary ("&&" unary)*; kept flat (n-ary) so that
  // long chains do not deepen the tree.
  Result<NodePtr> ParseLogical(TokenKind op, int depth) {
    auto node = std::make_unique<Node>();
    node->kind = op == TokenKind::kOr ? Node::Kind::kOr : Node::Kind::kAnd;
    node->position = Peek().position;
    while (true) {
      Result<NodePtr> operand =
          op == TokenKind::kOr ? ParseLogical(TokenKind::kAnd, depth) : ParseUnary(depth);
      if (!operand.ok()) {
        return operand;
      }
      node->operands.push_back(std::move(operand).value());
      if (Peek().kind != op) {
        break;
      }
      Take();
    }
    if (node->operands.size() == 1) {
      return std::move(node->operands.front());
    }
    return NodePtr(std::move(node));
  }

  Result<NodePtr> ParseUnary(int depth) {
    if (Peek().kind != TokenKind::kNot) {
      return ParseCompare(depth);
    }
    const Token& bang = Take();
    if (depth + 1 > kMaxExpressionDepth) {
      return TooDeep(bang);
    }
    Result<NodePtr> operand = ParseUnary(depth + 1);
    if (!operand.ok()) {
      return operand;
    }
    auto node = std::make_unique<Node>();
    node->kind = Node::Kind::kNot;
    node->position = bang.position;
    node->operands.push_back(std::move(operand).value());
    return NodePtr(std::move(node));
  }

  Result<NodePtr> ParseCompare(int depth) {
    Result<NodePtr> left = ParsePrimary(depth);
    if (!left.ok() || Peek().kind != TokenKind::kCompare) {
      return left;
    }
    const Token& op = Take();
    Result<NodePtr> right = ParsePrimary(depth);
    if (!right.ok()) {
      return right;
    }
    if (Peek().kind == TokenKind::kCompare) {
      return InvalidArgument("comparisons cannot be chained; use '&&' and parentheses" +
                             At(Peek().position));
    }
    auto node = std::make_unique<Node>();
    node->kind = Node::Kind::kCompare;
    node->position = op.position;
    node->op = op.op;
    node->operands.push_back(std::move(left).value());
    node->operands.push_back(std::move(right).value());
    return NodePtr(std::move(node));
  }

  Result<NodePtr> ParsePrimary(int depth) {
    const Token& token = Peek();
    switch (token.kind) {
      case TokenKind::kNumber:
      case TokenKind::kString:
        Take();
        return Literal(token, token.value);
      case TokenKind::kIdentifier:
        return ParseIdentifier();
      case TokenKind::kLeftParen:
        return ParseParenthesized(depth);
      default:
        return Unexpected();
    }
  }

  static NodePtr Literal(const Token& token, json value) {
    auto node = std::make_unique<Node>();
    node->kind = Node::Kind::kLiteral;
    node->position = token.position;
    node->literal = std::move(value);
    return node;
  }

  Result<NodePtr> ParseParenthesized(int depth) {
    const Token& open = Take();
    if (depth + 1 > kMaxExpressionDepth) {
      return TooDeep(open);
    }
    Result<NodePtr> inner = ParseLogical(TokenKind::kOr, depth + 1);
    if (!inner.ok()) {
      return inner;
    }
    if (Peek().kind != TokenKind::kRightParen) {
      return InvalidArgument("expected ')' to close the '(' at " + std::to_string(open.position) +
                             ", found " + Describe(Peek()) + At(Peek().position));
    }
    Take();
    return inner;
  }

  Result<NodePtr> ParseIdentifier() {
    const Token& token = Take();
    if (token.text == "true" || token.text == "false") {
      return Literal(token, token.text == "true");
    }
    if (token.text == "null") {
      return Literal(token, nullptr);
    }
    if (token.text != "input" && token.text != "steps" && token.text != "run") {
      return InvalidArgument("unknown identifier '" + Shorten(token.text) + "'" +
                             At(token.position) +
                             " (paths start with input, steps or run; strings need quotes)");
    }
    auto node = std::make_unique<Node>();
    node->kind = Node::Kind::kPath;
    node->position = token.position;
    node->root = std::string(token.text);
    while (Peek().kind == TokenKind::kDot || Peek().kind == TokenKind::kLeftBracket) {
      Result<Node::Segment> segment = ParseSegment();
      if (!segment.ok()) {
        return segment.status();
      }
      node->segments.push_back(std::move(segment).value());
    }
    return NodePtr(std::move(node));
  }

  Result<Node::Segment> ParseSegment() {
    Node::Segment segment;
    if (Take().kind == TokenKind::kDot) {
      if (Peek().kind != TokenKind::kIdentifier) {
        return InvalidArgument("expected a name after '.', found " + Describe(Peek()) +
                               At(Peek().position));
      }
      segment.name = std::string(Take().text);
      return segment;
    }
    const Token& index = Peek();
    if (index.kind != TokenKind::kNumber) {
      return InvalidArgument("expected an array index after '[', found " + Describe(index) +
                             At(index.position));
    }
    if (!index.value.is_number_integer() || index.value.get<int64_t>() < 0) {
      return InvalidArgument("an array index must be a non-negative integer, found " +
                             Describe(index) + At(index.position));
    }
    Take();
    segment.is_index = true;
    segment.index = static_cast<size_t>(index.value.get<int64_t>());
    if (Peek().kind != TokenKind::kRightBracket) {
      return InvalidArgument("expected ']', found " + Describe(Peek()) + At(Peek().position));
    }
    Take();
    return segment;
  }

  std::vector<Token> tokens_;
  size_t next_ = 0;
};

Result<NodePtr> ParseNode(std::string_view source, size_t base) {
  if (source.size() > kMaxExpressionLength) {
    return InvalidArgument("expression is longer than " + std::to_string(kMaxExpressionLength) +
                           " characters" + At(base + 1));
  }
  if (const size_t bad = FindInvalidUtf8(source); bad != std::string_view::npos) {
    return InvalidArgument("expression is not valid UTF-8" + At(base + bad + 1));
  }
  Result<std::vector<Token>> tokens = Lexer(source, base).Run();
  if (!tokens.ok()) {
    return tokens.status();
  }
  return Parser(std::move(tokens).value()).Run();
}

// A value during evaluation: borrowed from the scope or the tree, or owned.
class Value {
 public:
  static Value Borrow(const json& value) { return Value(&value, json()); }
  static Value Own(json value) { return Value(nullptr, std::move(value)); }
  const json& get() const { return borrowed_ != nullptr ? *borrowed_ : owned_; }

 private:
  Value(const json* borrowed, json owned) : borrowed_(borrowed), owned_(std::move(owned)) {}
  const json* borrowed_;
  json owned_;
};

bool Truthy(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return false;
    case json::value_t::boolean:
      return v.get<bool>();
    case json::value_t::number_integer:
      return v.get<int64_t>() != 0;
    case json::value_t::number_unsigned:
      return v.get<uint64_t>() != 0;
    case json::value_t::number_float: {
      const double d = v.get<double>();
      return d != 0 && !std::isnan(d);
    }
    case json::value_t::string:
      return !v.get_ref<const json::string_t&>().empty();
    default:
      return true;  // Arrays and objects, even empty ones.
  }
}

// True when `v` has containers nested more than `limit` levels deep; the recursion
// stops at the limit.
bool NestedDeeperThan(const json& v, int limit) {
  if (!v.is_structured()) {
    return false;
  }
  if (limit == 0) {
    return true;
  }
  for (const json& child : v) {
    if (NestedDeeperThan(child, limit - 1)) {
      return true;
    }
  }
  return false;
}

Status CheckValueDepth(const json& v) {
  if (NestedDeeperThan(v, kMaxValueDepth)) {
    return InvalidArgument("a value is nested deeper than " + std::to_string(kMaxValueDepth) +
                           " levels");
  }
  return Status::Ok();
}

std::partial_ordering CompareNumbers(const json& a, const json& b) {
  if (a.is_number_float() || b.is_number_float()) {
    return a.get<double>() <=> b.get<double>();
  }
  const bool a_signed = !a.is_number_unsigned();
  const bool b_signed = !b.is_number_unsigned();
  if (a_signed && b_signed) {
    return a.get<int64_t>() <=> b.get<int64_t>();
  }
  // At least one is unsigned: a negative signed value is below it; otherwise both fit
  // in uint64_t.
  if (a_signed && a.get<int64_t>() < 0) {
    return std::partial_ordering::less;
  }
  if (b_signed && b.get<int64_t>() < 0) {
    return std::partial_ordering::greater;
  }
  return a.get<uint64_t>() <=> b.get<uint64_t>();
}

// Structural equality with numbers compared by value (1 == 1.0). The operands were
// checked against kMaxValueDepth, which bounds the recursion.
bool JsonEquals(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) {
    return CompareNumbers(a, b) == 0;
  }
  if (a.type() != b.type()) {
    return false;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) {
      return false;
    }
    for (size_t i = 0; i < a.size(); ++i) {
      if (!JsonEquals(a[i], b[i])) {
        return false;
      }
    }
    return true;
  }
  if (a.is_object()) {
    if (a.size() != b.size()) {
      return false;
    }
    for (auto it = a.begin(); it != a.end(); ++it) {
      const auto other = b.find(it.key());
      if (other == b.end() || !JsonEquals(it.value(), *other)) {
        return false;
      }
    }
    return true;
  }
  return a == b;  // null, boolean, string, binary.
}

std::string_view OpText(Node::Op op) {
  switch (op) {
    case Node::Op::kEq:
      return "==";
    case Node::Op::kNe:
      return "!=";
    case Node::Op::kLt:
      return "<";
    case Node::Op::kLe:
      return "<=";
    case Node::Op::kGt:
      return ">";
    case Node::Op::kGe:
      return ">=";
  }
  return "?";
}

std::string TypeName(const json& v) {
  return v.is_number() ? "number" : std::string(v.type_name());
}

Result<bool> Compare(const Node& node, const json& a, const json& b) {
  if (node.op == Node::Op::kEq || node.op == Node::Op::kNe) {
    for (const json* v : {&a, &b}) {
      if (Status status = CheckValueDepth(*v); !status.ok()) {
        return InvalidArgument(status.message() + " to compare with '" +
                               std::string(OpText(node.op)) + "'" + At(node.position));
      }
    }
    return JsonEquals(a, b) == (node.op == Node::Op::kEq);
  }
  std::partial_ordering order = std::partial_ordering::unordered;
  if (a.is_number() && b.is_number()) {
    order = CompareNumbers(a, b);
  } else if (a.is_string() && b.is_string()) {
    order = a.get_ref<const json::string_t&>() <=> b.get_ref<const json::string_t&>();
  } else {
    return InvalidArgument("'" + std::string(OpText(node.op)) + "'" + At(node.position) +
                           " needs two numbers or two strings, got " + TypeName(a) + " and " +
                           TypeName(b));
  }
  switch (node.op) {
    case Node::Op::kLt:
      return order < 0;
    case Node::Op::kLe:
      return order <= 0;
    case Node::Op::kGt:
      return order > 0;
    default:
      return order >= 0;
  }
}

const json* ResolvePath(const Node& node, const json& scope) {
  if (!scope.is_object()) {
    return nullptr;
  }
  auto root = scope.find(node.root);
  if (root == scope.end()) {
    return nullptr;
  }
  const json* current = &*root;
  for (const Node::Segment& segment : node.segments) {
    if (segment.is_index) {
      if (!current->is_array() || segment.index >= current->size()) {
        return nullptr;
      }
      current = &(*current)[segment.index];
    } else {
      if (!current->is_object()) {
        return nullptr;
      }
      auto it = current->find(segment.name);
      if (it == current->end()) {
        return nullptr;
      }
      current = &*it;
    }
  }
  return current;
}

// Recursion follows the tree, whose depth the parser bounded.
Result<Value> Eval(const Node& node, const json& scope) {
  switch (node.kind) {
    case Node::Kind::kLiteral:
      return Value::Borrow(node.literal);
    case Node::Kind::kPath: {
      const json* found = ResolvePath(node, scope);
      return found != nullptr ? Value::Borrow(*found) : Value::Own(nullptr);
    }
    case Node::Kind::kNot: {
      Result<Value> operand = Eval(*node.operands[0], scope);
      if (!operand.ok()) {
        return operand;
      }
      return Value::Own(!Truthy(operand->get()));
    }
    case Node::Kind::kAnd:
    case Node::Kind::kOr: {
      // Short-circuit: `a || b` stops at the first truthy operand, `a && b` at the
      // first falsy one, so an error in a later operand is never reached.
      const bool stop_at = node.kind == Node::Kind::kOr;
      for (const NodePtr& child : node.operands) {
        Result<Value> operand = Eval(*child, scope);
        if (!operand.ok()) {
          return operand;
        }
        if (Truthy(operand->get()) == stop_at) {
          return Value::Own(stop_at);
        }
      }
      return Value::Own(!stop_at);
    }
    case Node::Kind::kCompare: {
      Result<Value> left = Eval(*node.operands[0], scope);
      if (!left.ok()) {
        return left;
      }
      Result<Value> right = Eval(*node.operands[1], scope);
      if (!right.ok()) {
        return right;
      }
      Result<bool> result = Compare(node, left->get(), right->get());
      if (!result.ok()) {
        return result.status();
      }
      return Value::Own(*result);
    }
  }
  return Internal("unknown expression node");
}

// Evaluates to a value the caller owns. nlohmann reports problems by exception; none
// may leave this module.
Result<json> EvaluateToJson(const Node& root, const json& scope) {
  try {
    Result<Value> value = Eval(root, scope);
    if (!value.ok()) {
      return value.status();
    }
    if (Status status = CheckValueDepth(value->get()); !status.ok()) {
      return status;
    }
    return value->get();
  } catch (const json::exception& e) {
    return InvalidArgument(std::string("cannot evaluate the expression: ") + e.what());
  }
}

// One piece of a template string: literal text, or the source of an expression.
struct TemplatePart {
  bool is_expression = false;
  size_t offset = 0;      // 0-based offset of `text` in the string.
  std::string_view text;  // Never empty for literal parts.
};

constexpr std::string_view kOpen = "${{";
constexpr std::string_view kClose = "}}";

// The offset of the "}}" that closes an expression whose source starts at `start`.
// Quoted strings are skipped, so "${{ '}}' }}" is one expression.
size_t FindClose(std::string_view s, size_t start) {
  for (size_t i = start; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\'' || c == '"') {
      for (++i; i < s.size() && s[i] != c; ++i) {
        if (s[i] == '\\') {
          ++i;
        }
      }
      if (i >= s.size()) {
        return std::string_view::npos;
      }
    } else if (s.substr(i, kClose.size()) == kClose) {
      return i;
    }
  }
  return std::string_view::npos;
}

Result<std::vector<TemplatePart>> SplitTemplate(std::string_view s) {
  std::vector<TemplatePart> parts;
  size_t pos = 0;
  while (pos < s.size()) {
    const size_t open = s.find(kOpen, pos);
    const size_t literal_end = open == std::string_view::npos ? s.size() : open;
    if (literal_end > pos) {
      parts.push_back({false, pos, s.substr(pos, literal_end - pos)});
    }
    if (open == std::string_view::npos) {
      break;
    }
    const size_t source = open + kOpen.size();
    const size_t close = FindClose(s, source);
    if (close == std::string_view::npos) {
      return InvalidArgument("unterminated '${{' (missing '}}')" + At(open + 1));
    }
    parts.push_back({true, source, s.substr(source, close - source)});
    pos = close + kClose.size();
  }
  return parts;
}

// How an interpolated value reads inside a string.
std::string Stringify(const json& v) {
  if (v.is_string()) {
    return v.get<std::string>();
  }
  if (v.is_null()) {
    return "";
  }
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Adds where the problem is: the JSON pointer of the value (when nested) and the string.
Status InTemplate(const std::string& pointer, std::string_view s, const Status& status) {
  const std::string where = pointer.empty() ? "" : "at " + pointer + ": ";
  return InvalidArgument(where + "in \"" + Shorten(s) + "\": " + status.message());
}

std::string PointerToken(const std::string& key) {
  std::string escaped;
  for (char c : key) {
    if (c == '~') {
      escaped += "~0";
    } else if (c == '/') {
      escaped += "~1";
    } else {
      escaped.push_back(c);
    }
  }
  return escaped;
}

Result<json> RenderString(const std::string& s, const json& scope, const std::string& pointer) {
  if (s.find(kOpen) == std::string::npos) {
    return json(s);
  }
  Result<std::vector<TemplatePart>> parts = SplitTemplate(s);
  if (!parts.ok()) {
    return InTemplate(pointer, s, parts.status());
  }
  const bool exact = parts->size() == 1 && parts->front().is_expression;
  std::string rendered;
  for (const TemplatePart& part : *parts) {
    if (!part.is_expression) {
      rendered.append(part.text);
      continue;
    }
    Result<NodePtr> node = ParseNode(part.text, part.offset);
    if (!node.ok()) {
      return InTemplate(pointer, s, node.status());
    }
    Result<json> value = EvaluateToJson(**node, scope);
    if (!value.ok()) {
      return InTemplate(pointer, s, value.status());
    }
    if (exact) {
      return value;
    }
    rendered += Stringify(*value);
  }
  return json(std::move(rendered));
}

Status TooDeepTemplate(const std::string& pointer) {
  return InvalidArgument("at " + pointer + ": the value is nested deeper than " +
                         std::to_string(kMaxTemplateDepth) + " levels");
}

Result<json> RenderValue(const json& value, const json& scope, const std::string& pointer,
                         int depth) {
  if (value.is_string()) {
    return RenderString(value.get_ref<const json::string_t&>(), scope, pointer);
  }
  if (!value.is_structured()) {
    return value;
  }
  if (depth >= kMaxTemplateDepth) {
    return TooDeepTemplate(pointer);
  }
  json out = value.is_array() ? json::array() : json::object();
  size_t index = 0;
  for (auto it = value.begin(); it != value.end(); ++it, ++index) {
    const std::string child_pointer =
        pointer + "/" + (value.is_array() ? std::to_string(index) : PointerToken(it.key()));
    Result<json> child = RenderValue(it.value(), scope, child_pointer, depth + 1);
    if (!child.ok()) {
      return child;
    }
    if (value.is_array()) {
      out.push_back(std::move(child).value());
    } else {
      out[it.key()] = std::move(child).value();
    }
  }
  return out;
}

// Calls `visit` with the pointer of each expression's string and its parsed tree.
using ExpressionVisitor = std::function<void(const std::string& pointer, const Node& root)>;

Status ValidateValue(const json& value, const std::string& pointer, int depth,
                     const ExpressionVisitor& visit) {
  if (value.is_string()) {
    const std::string& s = value.get_ref<const json::string_t&>();
    Result<std::vector<TemplatePart>> parts = SplitTemplate(s);
    if (!parts.ok()) {
      return InTemplate(pointer, s, parts.status());
    }
    for (const TemplatePart& part : *parts) {
      if (part.is_expression) {
        Result<NodePtr> node = ParseNode(part.text, part.offset);
        if (!node.ok()) {
          return InTemplate(pointer, s, node.status());
        }
        visit(pointer, **node);
      }
    }
    return Status::Ok();
  }
  if (!value.is_structured()) {
    return Status::Ok();
  }
  if (depth >= kMaxTemplateDepth) {
    return TooDeepTemplate(pointer);
  }
  size_t index = 0;
  for (auto it = value.begin(); it != value.end(); ++it, ++index) {
    const std::string child_pointer =
        pointer + "/" + (value.is_array() ? std::to_string(index) : PointerToken(it.key()));
    if (Status status = ValidateValue(it.value(), child_pointer, depth + 1, visit); !status.ok()) {
      return status;
    }
  }
  return Status::Ok();
}

// The step ids `node` refers to (`steps.<id>...`), in the order written. The tree is at
// most kMaxExpressionDepth deep, which bounds the recursion.
std::vector<std::string> StepIdsIn(const Node& node) {
  std::vector<std::string> ids;
  if (node.kind == Node::Kind::kPath) {
    if (node.root == "steps" && !node.segments.empty() && !node.segments.front().is_index) {
      ids.push_back(node.segments.front().name);
    }
    return ids;
  }
  for (const NodePtr& operand : node.operands) {
    std::vector<std::string> more = StepIdsIn(*operand);
    ids.insert(ids.end(), more.begin(), more.end());
  }
  return ids;
}

// The expression source of a condition and its offset: the text inside "${{ }}"
// when the condition is written with braces, else the whole condition.
Result<TemplatePart> ConditionSource(std::string_view condition) {
  size_t begin = 0;
  size_t end = condition.size();
  while (begin < end && IsSpace(condition[begin])) {
    ++begin;
  }
  while (end > begin && IsSpace(condition[end - 1])) {
    --end;
  }
  const std::string_view trimmed = condition.substr(begin, end - begin);
  if (trimmed.find(kOpen) == std::string_view::npos) {
    return TemplatePart{true, begin, trimmed};
  }
  Result<std::vector<TemplatePart>> parts = SplitTemplate(trimmed);
  if (!parts.ok()) {
    return parts.status();
  }
  if (parts->size() != 1 || !parts->front().is_expression) {
    return InvalidArgument("a condition must be exactly one expression, like ${{ input.ok }}");
  }
  TemplatePart part = parts->front();
  part.offset += begin;
  return part;
}

}  // namespace

Result<Expression> Expression::Parse(std::string_view source) {
  Result<NodePtr> root = ParseNode(source, 0);
  if (!root.ok()) {
    return root.status();
  }
  return Expression(std::shared_ptr<const Node>(std::move(root).value()));
}

Result<json> Expression::Evaluate(const json& scope) const {
  SW_CHECK(root_ != nullptr);  // Only a moved-from Expression has no tree.
  return EvaluateToJson(*root_, scope);
}

Result<json> RenderTemplate(const json& value, const json& scope) {
  try {
    return RenderValue(value, scope, "", 0);
  } catch (const json::exception& e) {
    return InvalidArgument(std::string("cannot render the template: ") + e.what());
  }
}

Status ValidateTemplate(const json& value) {
  try {
    return ValidateValue(value, "", 0, [](const std::string&, const Node&) {});
  } catch (const json::exception& e) {
    return InvalidArgument(std::string("cannot validate the template: ") + e.what());
  }
}

Result<std::vector<StepReference>> FindStepReferences(const json& value) {
  std::vector<StepReference> found;
  Status valid = Status::Ok();
  try {
    valid = ValidateValue(value, "", 0, [&found](const std::string& pointer, const Node& root) {
      for (std::string& id : StepIdsIn(root)) {
        found.push_back({std::move(id), pointer});
      }
    });
  } catch (const json::exception& e) {
    valid = InvalidArgument(std::string("cannot validate the template: ") + e.what());
  }
  if (!valid.ok()) {
    return valid;
  }
  return found;
}

Result<std::vector<std::string>> FindConditionStepReferences(std::string_view condition) {
  Result<TemplatePart> source = ConditionSource(condition);
  if (!source.ok()) {
    return source.status();
  }
  Result<NodePtr> root = ParseNode(source->text, source->offset);
  if (!root.ok()) {
    return root.status();
  }
  return StepIdsIn(**root);
}

Result<bool> EvaluateCondition(std::string_view condition, const json& scope) {
  const std::string quoted = "in condition \"" + Shorten(condition) + "\": ";
  Result<TemplatePart> source = ConditionSource(condition);
  if (!source.ok()) {
    return InvalidArgument(quoted + source.status().message());
  }
  Result<NodePtr> root = ParseNode(source->text, source->offset);
  if (!root.ok()) {
    return InvalidArgument(quoted + root.status().message());
  }
  try {
    Result<Value> value = Eval(**root, scope);
    if (!value.ok()) {
      return InvalidArgument(quoted + value.status().message());
    }
    return Truthy(value->get());
  } catch (const json::exception& e) {
    return InvalidArgument(quoted + "cannot evaluate: " + e.what());
  }
}

}  // namespace sw
