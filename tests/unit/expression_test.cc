#include "core/expression.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace sw {
namespace {

using nlohmann::json;
using std::literals::string_view_literals::operator""sv;

json TestScope() {
  return json::parse(R"({
    "input": {
      "name": "ada", "count": 3, "ratio": 0.5, "flag": true, "off": false, "empty": "",
      "zero": 0, "none": null, "neg": -5, "big": 18446744073709551615, "one_float": 1.0,
      "list": [10, 20, {"deep": "x"}], "obj": {"a": 1}, "accent": "é",
      "nested": [[1, 2], [3, [4, 5]]]
    },
    "steps": {
      "fetch": {"output": {"status": 200, "ok": true, "body": {"items": [1, 2, 3]}}},
      "fetch-data": {"output": "hello"},
      "_private": {"output": 7}
    },
    "run": {"id": "run_01", "attempt": 1}
  })");
}

// Parses and evaluates `source`, which must succeed.
json Eval(std::string_view source, const json& scope = TestScope()) {
  Result<Expression> expression = Expression::Parse(source);
  EXPECT_TRUE(expression.ok()) << source << ": " << expression.status().message();
  if (!expression.ok()) {
    return "<parse error>";
  }
  Result<json> value = expression->Evaluate(scope);
  EXPECT_TRUE(value.ok()) << source << ": " << value.status().message();
  return value.ok() ? *value : json("<evaluation error>");
}

std::string ParseError(std::string_view source) {
  Result<Expression> expression = Expression::Parse(source);
  EXPECT_FALSE(expression.ok()) << source;
  EXPECT_EQ(expression.status().code(), StatusCode::kInvalidArgument);
  return expression.status().message();
}

// `source` parses but its evaluation fails.
std::string EvalError(std::string_view source, const json& scope = TestScope()) {
  Result<Expression> expression = Expression::Parse(source);
  EXPECT_TRUE(expression.ok()) << source << ": " << expression.status().message();
  if (!expression.ok()) {
    return "<parse error>";
  }
  Result<json> value = expression->Evaluate(scope);
  EXPECT_FALSE(value.ok()) << source << " gave " << (value.ok() ? value->dump() : "");
  EXPECT_EQ(value.status().code(), StatusCode::kInvalidArgument);
  return value.status().message();
}

json Render(const json& value, const json& scope = TestScope()) {
  Result<json> rendered = RenderTemplate(value, scope);
  EXPECT_TRUE(rendered.ok()) << value.dump() << ": " << rendered.status().message();
  return rendered.ok() ? *rendered : json("<render error>");
}

std::string RenderError(const json& value, const json& scope = TestScope()) {
  Result<json> rendered = RenderTemplate(value, scope);
  EXPECT_FALSE(rendered.ok()) << value.dump() << " gave "
                              << (rendered.ok() ? rendered->dump() : "");
  EXPECT_EQ(rendered.status().code(), StatusCode::kInvalidArgument);
  return rendered.status().message();
}

bool Condition(std::string_view condition, const json& scope = TestScope()) {
  Result<bool> result = EvaluateCondition(condition, scope);
  EXPECT_TRUE(result.ok()) << condition << ": " << result.status().message();
  return result.ok() && *result;
}

std::string ConditionError(std::string_view condition, const json& scope = TestScope()) {
  Result<bool> result = EvaluateCondition(condition, scope);
  EXPECT_FALSE(result.ok()) << condition;
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  return result.status().message();
}

// A value nested `levels` arrays deep around `leaf`.
json NestedArrays(int levels, json leaf) {
  json value = std::move(leaf);
  for (int i = 0; i < levels; ++i) {
    value = json::array({std::move(value)});
  }
  return value;
}

TEST(Expression, IntegerLiteralsAreIntegers) {
  EXPECT_EQ(Eval("42"), json(42));
  EXPECT_TRUE(Eval("42").is_number_integer());
  EXPECT_EQ(Eval("0"), json(0));
  EXPECT_EQ(Eval("-7"), json(-7));
  EXPECT_EQ(Eval("9223372036854775807"), json(INT64_MAX));
  EXPECT_EQ(Eval("-9223372036854775808"), json(INT64_MIN));
}

TEST(Expression, FloatLiteralsAreFloats) {
  EXPECT_TRUE(Eval("1.5").is_number_float());
  EXPECT_EQ(Eval("1.5").get<double>(), 1.5);
  EXPECT_EQ(Eval("-0.25").get<double>(), -0.25);
  EXPECT_TRUE(Eval("1e3").is_number_float());
  EXPECT_EQ(Eval("1e3").get<double>(), 1000.0);
  EXPECT_EQ(Eval("2.5E-1").get<double>(), 0.25);
  EXPECT_EQ(Eval("1.0").get<double>(), 1.0);
  EXPECT_TRUE(Eval("1.0").is_number_float());
}

TEST(Expression, StringsUseEitherQuote) {
  EXPECT_EQ(Eval("'abc'"), json("abc"));
  EXPECT_EQ(Eval("\"abc\""), json("abc"));
  EXPECT_EQ(Eval("''"), json(""));
  EXPECT_EQ(Eval("'say \"hi\"'"), json("say \"hi\""));
  EXPECT_EQ(Eval("\"it's\""), json("it's"));
}

TEST(Expression, StringsHonourBackslashEscapes) {
  EXPECT_EQ(Eval(R"('it\'s')"), json("it's"));
  EXPECT_EQ(Eval(R"("a\"b")"), json("a\"b"));
  EXPECT_EQ(Eval(R"('a\\b')"), json("a\\b"));
  EXPECT_EQ(Eval(R"('\n\t\r\b\f\/')"), json("\n\t\r\b\f/"));
  EXPECT_EQ(Eval(R"('\u00e9')"), json("é"));
  EXPECT_EQ(Eval(R"('\u00E9')"), json("é"));
  EXPECT_EQ(Eval(R"('\ud83d\ude00')"), json("😀"));
  EXPECT_EQ(Eval("'raw é and ✓'"), json("raw é and ✓"));
}

TEST(Expression, RejectsUnknownEscapes) {
  EXPECT_EQ(ParseError(R"('a\x')"), "unknown escape '\\' followed by 'x' at 3");
  EXPECT_NE(ParseError(R"('\u12')").find("four hex digits"), std::string::npos);
  EXPECT_NE(ParseError(R"('\uzzzz')").find("four hex digits"), std::string::npos);
}

TEST(Expression, RejectsUnpairedSurrogates) {
  EXPECT_NE(ParseError(R"('\ud83d')").find("unpaired surrogate"), std::string::npos);
  EXPECT_NE(ParseError(R"('\ude00')").find("unpaired surrogate"), std::string::npos);
  EXPECT_NE(ParseError(R"('\ud83d\u0041')").find("unpaired surrogate"), std::string::npos);
}

TEST(Expression, RejectsUnterminatedStrings) {
  EXPECT_EQ(ParseError("'abc"), "unterminated string at 1");
  EXPECT_EQ(ParseError("input.name == \"ada"), "unterminated string at 15");
  EXPECT_EQ(ParseError("'abc\\"), "unterminated string at 1");
  EXPECT_EQ(ParseError("'abc\\'"), "unterminated string at 1");
}

TEST(Expression, KeywordsAreLiterals) {
  EXPECT_EQ(Eval("true"), json(true));
  EXPECT_EQ(Eval("false"), json(false));
  EXPECT_EQ(Eval("null"), json(nullptr));
}

TEST(Expression, PathsReadTheScope) {
  EXPECT_EQ(Eval("input.name"), json("ada"));
  EXPECT_EQ(Eval("input.count"), json(3));
  EXPECT_EQ(Eval("input.obj"), json({{"a", 1}}));
  EXPECT_EQ(Eval("input"), TestScope()["input"]);
  EXPECT_EQ(Eval("steps.fetch.output.status"), json(200));
  EXPECT_EQ(Eval("steps.fetch.output.body.items"), json({1, 2, 3}));
  EXPECT_EQ(Eval("run.id"), json("run_01"));
}

TEST(Expression, PathNamesMayContainHyphensUnderscoresAndDigits) {
  EXPECT_EQ(Eval("steps.fetch-data.output"), json("hello"));
  EXPECT_EQ(Eval("steps._private.output"), json(7));
  const json scope = {{"input", {{"a1-b_2", "yes"}}}};
  EXPECT_EQ(Eval("input.a1-b_2", scope), json("yes"));
}

TEST(Expression, KeywordsAreOrdinaryNamesAfterADot) {
  const json scope = {{"input", {{"true", 1}, {"null", 2}, {"input", 3}}}};
  EXPECT_EQ(Eval("input.true", scope), json(1));
  EXPECT_EQ(Eval("input.null", scope), json(2));
  EXPECT_EQ(Eval("input.input", scope), json(3));
}

TEST(Expression, IndexesArrays) {
  EXPECT_EQ(Eval("input.list[0]"), json(10));
  EXPECT_EQ(Eval("input.list[1]"), json(20));
  EXPECT_EQ(Eval("input.list[2].deep"), json("x"));
  EXPECT_EQ(Eval("input.nested[1][1][0]"), json(4));
  EXPECT_EQ(Eval("steps.fetch.output.body.items[2]"), json(3));
  EXPECT_EQ(Eval("input.list[ 1 ]"), json(20));
}

TEST(Expression, MissingPathsAreNull) {
  EXPECT_EQ(Eval("input.nope"), json(nullptr));
  EXPECT_EQ(Eval("input.nope.deeper[3]"), json(nullptr));
  EXPECT_EQ(Eval("input.name.length"), json(nullptr));
  EXPECT_EQ(Eval("input.list[3]"), json(nullptr));
  EXPECT_EQ(Eval("input.list[9223372036854775807]"), json(nullptr));
  EXPECT_EQ(Eval("input.obj[0]"), json(nullptr));
  EXPECT_EQ(Eval("input.list.first"), json(nullptr));
  EXPECT_EQ(Eval("input.count[0]"), json(nullptr));
  EXPECT_EQ(Eval("steps.nope.output"), json(nullptr));
}

TEST(Expression, MissingRootsAreNull) {
  EXPECT_EQ(Eval("run.id", json::object()), json(nullptr));
  EXPECT_EQ(Eval("input", json({{"steps", {}}})), json(nullptr));
  EXPECT_EQ(Eval("input.a", json(nullptr)), json(nullptr));
  EXPECT_EQ(Eval("input.a", json::array({1, 2})), json(nullptr));
  EXPECT_EQ(Eval("input", json("input")), json(nullptr));
}

TEST(Expression, EqualityComparesAnyValues) {
  EXPECT_EQ(Eval("input.name == 'ada'"), json(true));
  EXPECT_EQ(Eval("input.name == 'Ada'"), json(false));
  EXPECT_EQ(Eval("input.count == 3"), json(true));
  EXPECT_EQ(Eval("null == null"), json(true));
  EXPECT_EQ(Eval("input.none == null"), json(true));
  EXPECT_EQ(Eval("input.nope == null"), json(true));
  EXPECT_EQ(Eval("input.flag == true"), json(true));
  EXPECT_EQ(Eval("input.list == input.list"), json(true));
  EXPECT_EQ(Eval("input.obj == input.list"), json(false));
  EXPECT_EQ(Eval("steps.fetch.output.ok == true"), json(true));
}

TEST(Expression, EqualityDoesNotConvertTypes) {
  EXPECT_EQ(Eval("'1' == 1"), json(false));
  EXPECT_EQ(Eval("true == 1"), json(false));
  EXPECT_EQ(Eval("false == 0"), json(false));
  EXPECT_EQ(Eval("null == 0"), json(false));
  EXPECT_EQ(Eval("null == ''"), json(false));
  EXPECT_EQ(Eval("null == false"), json(false));
}

TEST(Expression, EqualityComparesNumbersByValue) {
  EXPECT_EQ(Eval("1 == 1.0"), json(true));
  EXPECT_EQ(Eval("input.one_float == 1"), json(true));
  EXPECT_EQ(Eval("0 == -0.0"), json(true));
  EXPECT_EQ(Eval("1 == 1.5"), json(false));
  EXPECT_EQ(Eval("input.big == -1"), json(false));
  EXPECT_EQ(Eval("input.big == input.big"), json(true));
  EXPECT_EQ(Eval("1e2 == 100"), json(true));
}

TEST(Expression, EqualityIsStructuralWithNumbersByValue) {
  const json scope = json::parse(R"({"input": {
      "a": [1, {"b": 2, "c": [true, null]}], "b": [1.0, {"c": [true, null], "b": 2.0}],
      "c": [1, {"b": 2}], "d": {"x": 1}, "e": {"y": 1}}})");
  EXPECT_EQ(Eval("input.a == input.b", scope), json(true));
  EXPECT_EQ(Eval("input.a == input.c", scope), json(false));
  EXPECT_EQ(Eval("input.d == input.e", scope), json(false));
  EXPECT_EQ(Eval("input.a != input.b", scope), json(false));
}

TEST(Expression, InequalityIsTheNegationOfEquality) {
  EXPECT_EQ(Eval("input.name != 'ada'"), json(false));
  EXPECT_EQ(Eval("input.name != 'bob'"), json(true));
  EXPECT_EQ(Eval("1 != 1.0"), json(false));
  EXPECT_EQ(Eval("input.nope != null"), json(false));
  EXPECT_EQ(Eval("'1' != 1"), json(true));
}

TEST(Expression, OrdersNumbers) {
  EXPECT_EQ(Eval("1 < 2"), json(true));
  EXPECT_EQ(Eval("2 < 2"), json(false));
  EXPECT_EQ(Eval("2 <= 2"), json(true));
  EXPECT_EQ(Eval("3 <= 2"), json(false));
  EXPECT_EQ(Eval("3 > 2.5"), json(true));
  EXPECT_EQ(Eval("2.5 > 3"), json(false));
  EXPECT_EQ(Eval("2 >= 3"), json(false));
  EXPECT_EQ(Eval("3 >= 3.0"), json(true));
  EXPECT_EQ(Eval("-1 < 0"), json(true));
  EXPECT_EQ(Eval("steps.fetch.output.status >= 200 && steps.fetch.output.status < 300"),
            json(true));
}

TEST(Expression, OrdersUnsignedAndSignedIntegersByValue) {
  EXPECT_EQ(Eval("input.big > 0"), json(true));
  EXPECT_EQ(Eval("input.big > input.neg"), json(true));
  EXPECT_EQ(Eval("input.neg < input.big"), json(true));
  EXPECT_EQ(Eval("input.neg < input.count"), json(true));
  EXPECT_EQ(Eval("input.big > 9223372036854775807"), json(true));
  EXPECT_EQ(Eval("input.count > 2"), json(true));
}

TEST(Expression, OrdersStringsByBytes) {
  EXPECT_EQ(Eval("'a' < 'b'"), json(true));
  EXPECT_EQ(Eval("'abc' < 'abd'"), json(true));
  EXPECT_EQ(Eval("'ab' < 'abc'"), json(true));
  EXPECT_EQ(Eval("'' < 'a'"), json(true));
  EXPECT_EQ(Eval("'B' < 'a'"), json(true));
  EXPECT_EQ(Eval("'10' < '9'"), json(true));
  EXPECT_EQ(Eval("input.accent > 'z'"), json(true));
  EXPECT_EQ(Eval("'b' >= 'b'"), json(true));
  EXPECT_EQ(Eval("'a' > 'b'"), json(false));
}

TEST(Expression, OrderingMixedTypesIsAnError) {
  EXPECT_EQ(EvalError("1 < 'a'"),
            "'<' at 3 needs two numbers or two strings, got number and string");
  EXPECT_EQ(EvalError("null <= 1"),
            "'<=' at 6 needs two numbers or two strings, got null and number");
  EXPECT_EQ(EvalError("true > false"),
            "'>' at 6 needs two numbers or two strings, got boolean and boolean");
  EXPECT_EQ(EvalError("input.list >= input.list"),
            "'>=' at 12 needs two numbers or two strings, got array and array");
  EXPECT_EQ(EvalError("input.obj < 1"),
            "'<' at 11 needs two numbers or two strings, got object and number");
  EXPECT_EQ(EvalError("input.nope > 0"),
            "'>' at 12 needs two numbers or two strings, got null and number");
  EXPECT_EQ(EvalError("'3' < 4"),
            "'<' at 5 needs two numbers or two strings, got string and number");
}

TEST(Expression, NotUsesTruthiness) {
  EXPECT_EQ(Eval("!true"), json(false));
  EXPECT_EQ(Eval("!false"), json(true));
  EXPECT_EQ(Eval("!null"), json(true));
  EXPECT_EQ(Eval("!0"), json(true));
  EXPECT_EQ(Eval("!0.0"), json(true));
  EXPECT_EQ(Eval("!''"), json(true));
  EXPECT_EQ(Eval("!input.nope"), json(true));
  EXPECT_EQ(Eval("!input.name"), json(false));
  EXPECT_EQ(Eval("!!input.name"), json(true));
  EXPECT_EQ(Eval("!!!input.name"), json(false));
}

TEST(Expression, TruthinessOfEveryKindOfValue) {
  const json scope = json::parse(R"({"input": {
      "null": null, "false": false, "zero": 0, "zero_float": 0.0, "neg_zero": -0.0, "empty": "",
      "true": true, "one": 1, "minus": -1, "tiny": 1e-300, "text": "0", "word": "false",
      "space": " ", "empty_list": [], "empty_object": {}, "big": 18446744073709551615,
      "unsigned_zero": 0}})");
  for (const char* falsy :
       {"null", "false", "zero", "zero_float", "neg_zero", "empty", "missing", "unsigned_zero"}) {
    EXPECT_FALSE(Condition(std::string("input.") + falsy, scope)) << falsy;
  }
  for (const char* truthy : {"true", "one", "minus", "tiny", "text", "word", "space", "empty_list",
                             "empty_object", "big"}) {
    EXPECT_TRUE(Condition(std::string("input.") + truthy, scope)) << truthy;
  }
}

TEST(Expression, NotANumberIsFalsy) {
  const json scope = {{"input", {{"nan", std::nan("")}}}};
  EXPECT_FALSE(Condition("input.nan", scope));
  EXPECT_EQ(Eval("input.nan == input.nan", scope), json(false));
  EXPECT_EQ(Eval("input.nan < 1", scope), json(false));
  EXPECT_EQ(Eval("input.nan >= 1", scope), json(false));
}

TEST(Expression, LogicalOperatorsGiveBooleans) {
  EXPECT_EQ(Eval("input.name && input.count"), json(true));
  EXPECT_EQ(Eval("input.name || input.count"), json(true));
  EXPECT_EQ(Eval("input.none || 0"), json(false));
  EXPECT_EQ(Eval("input.none && input.name"), json(false));
  EXPECT_EQ(Eval("'' || 'x'"), json(true));
}

TEST(Expression, LogicalOperatorTruthTables) {
  EXPECT_EQ(Eval("true && true"), json(true));
  EXPECT_EQ(Eval("true && false"), json(false));
  EXPECT_EQ(Eval("false && true"), json(false));
  EXPECT_EQ(Eval("false && false"), json(false));
  EXPECT_EQ(Eval("true || true"), json(true));
  EXPECT_EQ(Eval("true || false"), json(true));
  EXPECT_EQ(Eval("false || true"), json(true));
  EXPECT_EQ(Eval("false || false"), json(false));
}

TEST(Expression, LogicalOperatorsShortCircuit) {
  EXPECT_EQ(Eval("false && 1 < 'a'"), json(false));
  EXPECT_EQ(Eval("true || 1 < 'a'"), json(true));
  EXPECT_EQ(Eval("false || false || true || 1 < 'a'"), json(true));
  EXPECT_NE(EvalError("true && 1 < 'a'").find("needs two numbers"), std::string::npos);
  EXPECT_NE(EvalError("false || 1 < 'a'").find("needs two numbers"), std::string::npos);
}

TEST(Expression, AndBindsTighterThanOr) {
  EXPECT_EQ(Eval("true || false && false"), json(true));
  EXPECT_EQ(Eval("false && false || true"), json(true));
  EXPECT_EQ(Eval("false && true || true && true"), json(true));
  EXPECT_EQ(Eval("true && false || false && true"), json(false));
}

TEST(Expression, NotBindsTighterThanAndOr) {
  EXPECT_EQ(Eval("!false && false"), json(false));
  EXPECT_EQ(Eval("!true || true"), json(true));
}

TEST(Expression, NotAppliesToAWholeComparison) {
  // unary := "!" unary | compare, so `!a == b` reads as `!(a == b)`.
  EXPECT_EQ(Eval("!input.count == 3"), json(false));
  EXPECT_EQ(Eval("!input.count == 4"), json(true));
  EXPECT_EQ(Eval("(!input.count) == false"), json(true));
}

TEST(Expression, ComparisonBindsTighterThanLogic) {
  EXPECT_EQ(Eval("1 == 1 && 2 == 2"), json(true));
  EXPECT_EQ(Eval("1 == 2 || 2 == 2"), json(true));
  EXPECT_EQ(Eval("1 < 2 && 'a' < 'b'"), json(true));
}

TEST(Expression, ParenthesesGroup) {
  EXPECT_EQ(Eval("(true || false) && false"), json(false));
  EXPECT_EQ(Eval("true || (false && false)"), json(true));
  EXPECT_EQ(Eval("!(1 == 2)"), json(true));
  EXPECT_EQ(Eval("((((input.count))))"), json(3));
  EXPECT_EQ(Eval("(input.count) == (3)"), json(true));
  EXPECT_EQ(Eval("(1 == 1) == true"), json(true));
}

TEST(Expression, ComparisonsDoNotChain) {
  EXPECT_EQ(ParseError("1 < 2 < 3"),
            "comparisons cannot be chained; use '&&' and parentheses at 7");
  EXPECT_NE(ParseError("1 == 1 == true").find("cannot be chained"), std::string::npos);
}

TEST(Expression, AComparisonOperandMustBeAPrimary) {
  EXPECT_EQ(ParseError("true == !false"), "unexpected '!' at 9");
}

TEST(Expression, IgnoresWhitespace) {
  EXPECT_EQ(Eval("  input.count   ==3 "), json(true));
  EXPECT_EQ(Eval("\n\tinput.count\r\n==\t3\n"), json(true));
  EXPECT_EQ(Eval("input . list [ 0 ]"), json(10));
  EXPECT_EQ(Eval("!  true"), json(false));
}

TEST(Expression, ReportsPositionsOfUnexpectedTokens) {
  EXPECT_EQ(ParseError("input.a)"), "unexpected ')' at 8");
  EXPECT_EQ(ParseError("1 2"), "unexpected '2' at 3");
  EXPECT_EQ(ParseError("== 1"), "unexpected '==' at 1");
  EXPECT_EQ(ParseError("()"), "unexpected ')' at 2");
  EXPECT_EQ(ParseError("1abc"), "unexpected 'abc' at 2");
  EXPECT_EQ(ParseError("'a'.b"), "unexpected '.' at 4");
  EXPECT_EQ(ParseError("input.list[0]]"), "unexpected ']' at 14");
}

TEST(Expression, ReportsAnUnexpectedEnd) {
  EXPECT_EQ(ParseError("!"), "unexpected end of expression at 2");
  EXPECT_EQ(ParseError("input.a =="), "unexpected end of expression at 11");
  EXPECT_EQ(ParseError("true &&"), "unexpected end of expression at 8");
  EXPECT_EQ(ParseError("("), "unexpected end of expression at 2");
}

TEST(Expression, RejectsEmptySource) {
  EXPECT_EQ(ParseError(""), "empty expression at 1");
  EXPECT_EQ(ParseError("   "), "empty expression at 4");
}

TEST(Expression, RejectsUnknownIdentifiersByName) {
  EXPECT_EQ(ParseError("foo"),
            "unknown identifier 'foo' at 1 (paths start with input, steps or run; strings need "
            "quotes)");
  EXPECT_NE(ParseError("input.a == bar").find("unknown identifier 'bar' at 12"), std::string::npos);
  EXPECT_NE(ParseError("True").find("unknown identifier 'True'"), std::string::npos);
  EXPECT_NE(ParseError("Input.a").find("unknown identifier 'Input'"), std::string::npos);
  EXPECT_NE(ParseError("env.HOME").find("unknown identifier 'env'"), std::string::npos);
  EXPECT_NE(ParseError("step.a").find("unknown identifier 'step'"), std::string::npos);
}

TEST(Expression, RejectsMalformedPathSegments) {
  EXPECT_EQ(ParseError("input."), "expected a name after '.', found end of expression at 7");
  EXPECT_EQ(ParseError("input.[0]"), "expected a name after '.', found '[' at 7");
  EXPECT_EQ(ParseError("input.1a"), "expected a name after '.', found '1' at 7");
  EXPECT_EQ(ParseError("input.list["),
            "expected an array index after '[', found end of expression at 12");
  EXPECT_EQ(ParseError("input.list['a']"), "expected an array index after '[', found ''a'' at 12");
  EXPECT_EQ(ParseError("input.list[-1]"),
            "an array index must be a non-negative integer, found '-1' at 12");
  EXPECT_EQ(ParseError("input.list[1.5]"),
            "an array index must be a non-negative integer, found '1.5' at 12");
  EXPECT_EQ(ParseError("input.list[0"), "expected ']', found end of expression at 13");
  EXPECT_EQ(ParseError("input.list[input.count]"),
            "expected an array index after '[', found 'input' at 12");
}

TEST(Expression, ReportsAnUnclosedParenthesis) {
  EXPECT_EQ(ParseError("(input.a"),
            "expected ')' to close the '(' at 1, found end of expression at 9");
  EXPECT_EQ(ParseError("(1 == 1 true"), "expected ')' to close the '(' at 1, found 'true' at 9");
}

TEST(Expression, SuggestsTheRightOperator) {
  EXPECT_EQ(ParseError("input.a = 1"), "unexpected '=' (use '==' to compare) at 9");
  EXPECT_EQ(ParseError("true & false"), "unexpected '&' (use '&&') at 6");
  EXPECT_EQ(ParseError("true | false"), "unexpected '|' (use '||') at 6");
}

TEST(Expression, RejectsUnknownCharacters) {
  EXPECT_EQ(ParseError("$"), "unexpected character '$' at 1");
  EXPECT_EQ(ParseError("1 + 2"), "unexpected character '+' at 3");
  EXPECT_EQ(ParseError("input.a}}"), "unexpected character '}' at 8");
  EXPECT_EQ(ParseError(std::string_view("\x01", 1)), "unexpected character byte 0x01 at 1");
  EXPECT_EQ(ParseError(std::string_view("true\0", 5)), "unexpected character byte 0x00 at 5");
  EXPECT_EQ(ParseError("é"), "unexpected character byte 0xc3 at 1");
}

TEST(Expression, RejectsMalformedNumbers) {
  EXPECT_EQ(ParseError("-"), "expected a digit after '-' at 1");
  EXPECT_EQ(ParseError("- 1"), "expected a digit after '-' at 1");
  EXPECT_EQ(ParseError("1."), "expected a digit after '.' in a number at 2");
  EXPECT_EQ(ParseError("1.e5"), "expected a digit after '.' in a number at 2");
  EXPECT_EQ(ParseError("1e"), "expected digits in the exponent of a number at 2");
  EXPECT_EQ(ParseError("1e+"), "expected digits in the exponent of a number at 2");
  EXPECT_EQ(ParseError("1e400"), "number '1e400' is out of range at 1");
  EXPECT_EQ(ParseError("99999999999999999999"),
            "integer '99999999999999999999' is out of range at 1");
  EXPECT_EQ(ParseError("-9223372036854775809"),
            "integer '-9223372036854775809' is out of range at 1");
}

TEST(Expression, RejectsInvalidUtf8) {
  EXPECT_EQ(ParseError("'\xff'"), "expression is not valid UTF-8 at 2");
  EXPECT_EQ(ParseError("'ab\xc3'"), "expression is not valid UTF-8 at 4");
  EXPECT_EQ(ParseError("'\xc0\xaf'"), "expression is not valid UTF-8 at 2");          // Overlong.
  EXPECT_EQ(ParseError("'\xed\xa0\x80'"), "expression is not valid UTF-8 at 2");      // Surrogate.
  EXPECT_EQ(ParseError("'\xf4\x90\x80\x80'"), "expression is not valid UTF-8 at 2");  // > U+10FFFF.
}

TEST(Expression, BoundsTheSourceLength) {
  std::string longest = "true" + std::string(kMaxExpressionLength - 4, ' ');
  ASSERT_EQ(longest.size(), kMaxExpressionLength);
  EXPECT_EQ(Eval(longest), json(true));
  EXPECT_EQ(ParseError(longest + " "), "expression is longer than 4096 characters at 1");
}

TEST(Expression, BoundsNestingOfParentheses) {
  const int deepest = kMaxExpressionDepth - 1;
  const std::string ok = std::string(deepest, '(') + "true" + std::string(deepest, ')');
  EXPECT_EQ(Eval(ok), json(true));
  const std::string too_deep = "(" + ok + ")";
  EXPECT_EQ(ParseError(too_deep), "expression is nested deeper than 32 levels at 32");
}

TEST(Expression, BoundsNestingOfNot) {
  const std::string ok = std::string(kMaxExpressionDepth - 1, '!') + "true";
  EXPECT_EQ(Eval(ok), json(false));
  EXPECT_EQ(ParseError("!" + ok), "expression is nested deeper than 32 levels at 32");
  EXPECT_NE(ParseError(std::string(4000, '!') + "true").find("nested deeper"), std::string::npos);
  EXPECT_NE(ParseError(std::string(4000, '(')).find("nested deeper"), std::string::npos);
}

TEST(Expression, BoundsMixedNesting) {
  std::string source;
  for (int i = 0; i < 16; ++i) {
    source += "!(";
  }
  source += "true" + std::string(16, ')');
  EXPECT_NE(ParseError(source).find("nested deeper than 32 levels"), std::string::npos);
}

TEST(Expression, LongFlatChainsAreNotNesting) {
  std::string ors = "false";
  std::string ands = "true";
  while (ors.size() < kMaxExpressionLength - 16) {
    ors += " || false";
    ands += " && true";
  }
  EXPECT_EQ(Eval(ors), json(false));
  EXPECT_EQ(Eval(ors + " || true"), json(true));
  EXPECT_EQ(Eval(ands), json(true));
  EXPECT_EQ(Eval(ands + " && 0"), json(false));
}

TEST(Expression, IsReusableAcrossScopesAndCopies) {
  Result<Expression> parsed = Expression::Parse("input.n > 1");
  ASSERT_TRUE(parsed.ok());
  const Expression copy = *parsed;
  EXPECT_EQ(*parsed->Evaluate({{"input", {{"n", 2}}}}), json(true));
  EXPECT_EQ(*copy.Evaluate({{"input", {{"n", 0}}}}), json(false));
  EXPECT_EQ(*parsed->Evaluate({{"input", {{"n", 5}}}}), json(true));
}

TEST(Expression, RefusesValuesNestedTooDeeply) {
  const json scope = {{"input", {{"deep", NestedArrays(300, 1)}, {"ok", NestedArrays(200, 1)}}}};
  EXPECT_EQ(EvalError("input.deep", scope), "a value is nested deeper than 256 levels");
  EXPECT_NE(EvalError("input.deep == 1", scope).find("to compare with '=='"), std::string::npos);
  EXPECT_EQ(Eval("input.ok == input.ok", scope), json(true));
  EXPECT_EQ(Eval("input.ok", scope), scope["input"]["ok"]);
  // Truthiness does not look inside, so a deep value is still a valid condition.
  EXPECT_TRUE(Condition("input.deep", scope));
}

TEST(Template, LeavesValuesWithoutExpressionsAlone) {
  EXPECT_EQ(Render("hello"), json("hello"));
  EXPECT_EQ(Render(""), json(""));
  EXPECT_EQ(Render(42), json(42));
  EXPECT_EQ(Render(1.5), json(1.5));
  EXPECT_EQ(Render(true), json(true));
  EXPECT_EQ(Render(nullptr), json(nullptr));
  EXPECT_EQ(Render("a }} b $ {{ c {{ d }}"), json("a }} b $ {{ c {{ d }}"));
}

TEST(Template, ExactlyOneExpressionKeepsItsType) {
  EXPECT_EQ(Render("${{ input.count }}"), json(3));
  EXPECT_TRUE(Render("${{ input.count }}").is_number_integer());
  EXPECT_EQ(Render("${{ input.ratio }}"), json(0.5));
  EXPECT_EQ(Render("${{ input.flag }}"), json(true));
  EXPECT_EQ(Render("${{ input.none }}"), json(nullptr));
  EXPECT_EQ(Render("${{ input.nope }}"), json(nullptr));
  EXPECT_EQ(Render("${{ input.obj }}"), json({{"a", 1}}));
  EXPECT_EQ(Render("${{ input.list }}"), TestScope()["input"]["list"]);
  EXPECT_EQ(Render("${{ 'x' }}"), json("x"));
  EXPECT_EQ(Render("${{ input.count > 2 }}"), json(true));
  EXPECT_TRUE(Render("${{ 1.0 }}").is_number_float());
}

TEST(Template, ExactExpressionAllowsWhitespaceInsideTheBraces) {
  EXPECT_EQ(Render("${{input.count}}"), json(3));
  EXPECT_EQ(Render("${{   input.count\n }}"), json(3));
}

TEST(Template, WhitespaceOutsideTheBracesMakesAString) {
  EXPECT_EQ(Render(" ${{ input.count }}"), json(" 3"));
  EXPECT_EQ(Render("${{ input.count }} "), json("3 "));
  EXPECT_EQ(Render("${{ input.count }}\n"), json("3\n"));
}

TEST(Template, InterpolatesSeveralExpressions) {
  EXPECT_EQ(Render("${{ input.name }}-${{ input.count }}"), json("ada-3"));
  EXPECT_EQ(Render("${{ 1 }}${{ 2 }}"), json("12"));
  EXPECT_EQ(Render("https://api/${{ run.id }}/items/${{ input.list[1] }}?x=1"),
            json("https://api/run_01/items/20?x=1"));
  EXPECT_EQ(Render("$${{ input.count }}"), json("$3"));
  EXPECT_EQ(Render("${{ input.name }}}"), json("ada}"));
}

TEST(Template, InterpolationSpellsValuesAsCompactJson) {
  EXPECT_EQ(Render("[${{ input.none }}]"), json("[]"));
  EXPECT_EQ(Render("[${{ input.nope }}]"), json("[]"));
  EXPECT_EQ(Render("[${{ input.name }}]"), json("[ada]"));
  EXPECT_EQ(Render("[${{ input.empty }}]"), json("[]"));
  EXPECT_EQ(Render("[${{ input.flag }}]"), json("[true]"));
  EXPECT_EQ(Render("[${{ input.off }}]"), json("[false]"));
  EXPECT_EQ(Render("[${{ input.count }}]"), json("[3]"));
  EXPECT_EQ(Render("[${{ input.neg }}]"), json("[-5]"));
  EXPECT_EQ(Render("[${{ input.big }}]"), json("[18446744073709551615]"));
  EXPECT_EQ(Render("[${{ input.ratio }}]"), json("[0.5]"));
  EXPECT_EQ(Render("[${{ input.one_float }}]"), json("[1.0]"));
  EXPECT_EQ(Render("[${{ 1e100 }}]"), json("[1e+100]"));
  EXPECT_EQ(Render("[${{ 0.1 }}]"), json("[0.1]"));
  EXPECT_EQ(Render("[${{ input.obj }}]"), json("[{\"a\":1}]"));
  EXPECT_EQ(Render("[${{ input.list }}]"), json("[[10,20,{\"deep\":\"x\"}]]"));
  EXPECT_EQ(Render("[${{ input.accent }}]"), json("[é]"));
  EXPECT_EQ(Render("${{ 'quote \" and \\\\' }}!"), json("quote \" and \\!"));
}

TEST(Template, InterpolatedObjectsKeepUnicodeUnescaped) {
  const json scope = {{"input", {{"o", {{"k", "é\n"}}}}}};
  EXPECT_EQ(Render("${{ input.o }} ", scope), json("{\"k\":\"é\\n\"} "));
}

TEST(Template, RendersNestedObjectsAndArrays) {
  const json definition = json::parse(R"({
    "url": "https://x/${{ input.name }}",
    "headers": {"n": "${{ input.count }}", "plain": "v"},
    "list": ["${{ input.flag }}", 5, null, ["${{ input.list[0] }}", {"d": "${{ input.list[2] }}"}]],
    "empty_object": {}, "empty_list": []
  })");
  const json expected = json::parse(R"({
    "url": "https://x/ada",
    "headers": {"n": 3, "plain": "v"},
    "list": [true, 5, null, [10, {"d": {"deep": "x"}}]],
    "empty_object": {}, "empty_list": []
  })");
  EXPECT_EQ(Render(definition), expected);
}

TEST(Template, DoesNotTemplateKeys) {
  const json definition = {{"${{ input.name }}", "${{ input.name }}"}};
  EXPECT_EQ(Render(definition), json({{"${{ input.name }}", "ada"}}));
}

TEST(Template, DoesNotRescanRenderedValues) {
  const json scope = {{"input", {{"text", "${{ input.secret }}"}, {"secret", "s3cr3t"}}}};
  EXPECT_EQ(Render("${{ input.text }}", scope), json("${{ input.secret }}"));
  EXPECT_EQ(Render("x ${{ input.text }}", scope), json("x ${{ input.secret }}"));
  const json nested = {{"input", {{"o", {{"k", "${{ input.secret }}"}}}}}};
  EXPECT_EQ(Render("${{ input.o }}", nested), nested["input"]["o"]);
}

TEST(Template, SkipsClosingBracesInsideQuotedStrings) {
  EXPECT_EQ(Render("${{ '}}' }}"), json("}}"));
  EXPECT_EQ(Render("<${{ \"a}}b\" }}>"), json("<a}}b>"));
  EXPECT_EQ(Render("${{ 'it\\'s }}' }}"), json("it's }}"));
  EXPECT_EQ(Render("${{ '${{' }}"), json("${{"));
}

TEST(Template, RejectsAnUnterminatedExpression) {
  EXPECT_EQ(RenderError("hello ${{ input.name"),
            "in \"hello ${{ input.name\": unterminated '${{' (missing '}}') at 7");
  EXPECT_NE(RenderError("${{").find("unterminated '${{' (missing '}}') at 1"), std::string::npos);
  EXPECT_NE(RenderError("${{ input.name }} ${{").find("at 19"), std::string::npos);
  EXPECT_NE(RenderError("${{ input.name }").find("unterminated"), std::string::npos);
  // An unterminated quote swallows the closing braces.
  EXPECT_NE(RenderError("${{ 'abc }}").find("unterminated"), std::string::npos);
}

TEST(Template, RejectsAnEmptyExpression) {
  EXPECT_EQ(RenderError("${{ }}"), "in \"${{ }}\": empty expression at 5");
  EXPECT_EQ(RenderError("a${{}}"), "in \"a${{}}\": empty expression at 5");
}

TEST(Template, ParseErrorsCountPositionsInTheWholeString) {
  EXPECT_EQ(RenderError("Hi ${{ input. }}"),
            "in \"Hi ${{ input. }}\": expected a name after '.', found end of expression at 15");
  EXPECT_EQ(RenderError("${{ 1 }} ${{ foo }}"),
            "in \"${{ 1 }} ${{ foo }}\": unknown identifier 'foo' at 14 (paths start with input, "
            "steps or run; strings need quotes)");
}

TEST(Template, EvaluationErrorsNameTheOperator) {
  EXPECT_EQ(RenderError("${{ 1 < 'a' }}"),
            "in \"${{ 1 < 'a' }}\": '<' at 7 needs two numbers or two strings, got number and "
            "string");
}

TEST(Template, ErrorsInNestedValuesNameTheJsonPointer) {
  const json definition = json::parse(R"({"a": {"b/c~": ["ok", "${{ bad }}"]}})");
  EXPECT_EQ(RenderError(definition),
            "at /a/b~1c~0/1: in \"${{ bad }}\": unknown identifier 'bad' at 5 (paths start with "
            "input, steps or run; strings need quotes)");
  EXPECT_EQ(ValidateTemplate(definition).message(), RenderError(definition));
}

TEST(Template, ShortensLongStringsInMessages) {
  const std::string text = std::string(500, 'a') + "${{ nope }}";
  const std::string message = RenderError(text);
  EXPECT_LT(message.size(), 200u);
  EXPECT_NE(message.find("unknown identifier 'nope' at 505"), std::string::npos);
}

TEST(Template, BoundsEachExpressionsLength) {
  const std::string long_expression = "${{ " + std::string(kMaxExpressionLength, ' ') + "1 }}";
  EXPECT_NE(RenderError(long_expression).find("longer than 4096 characters at 4"),
            std::string::npos);
}

TEST(Template, BoundsTheNestingOfTheTemplatedValue) {
  EXPECT_EQ(Render(NestedArrays(64, "${{ input.count }}")), NestedArrays(64, 3));
  EXPECT_NE(RenderError(NestedArrays(65, "x")).find("nested deeper than 64 levels"),
            std::string::npos);
  EXPECT_NE(ValidateTemplate(NestedArrays(65, "x")).message().find("nested deeper than 64"),
            std::string::npos);
}

TEST(Template, RefusesToInterpolateValuesNestedTooDeeply) {
  const json scope = {{"input", {{"deep", NestedArrays(300, 1)}}}};
  EXPECT_NE(RenderError("x ${{ input.deep }}", scope).find("nested deeper than 256"),
            std::string::npos);
}

TEST(Template, ValidatesWithoutEvaluating) {
  const json definition = json::parse(R"({
    "a": "${{ input.x }} and ${{ steps.s.output[0] }}",
    "b": ["${{ 1 < 'a' }}", 1, null, true, {"c": "plain"}],
    "${{ not checked }}": "keys are not templates"
  })");
  EXPECT_TRUE(ValidateTemplate(definition).ok()) << ValidateTemplate(definition).message();
  EXPECT_TRUE(ValidateTemplate(42).ok());
  EXPECT_TRUE(ValidateTemplate(nullptr).ok());
  EXPECT_TRUE(ValidateTemplate("no expressions }} here").ok());
}

TEST(Template, ValidationReportsEveryKindOfError) {
  EXPECT_EQ(ValidateTemplate("x ${{ input.a").code(), StatusCode::kInvalidArgument);
  EXPECT_NE(ValidateTemplate("x ${{ input.a").message().find("unterminated"), std::string::npos);
  EXPECT_NE(ValidateTemplate({{"k", "${{ )"}}).message().find("at /k: in"), std::string::npos);
  EXPECT_NE(ValidateTemplate("${{ }}").message().find("empty expression"), std::string::npos);
  EXPECT_NE(ValidateTemplate(json::array({"ok", "${{ a }}"})).message().find("at /1:"),
            std::string::npos);
  EXPECT_NE(ValidateTemplate("${{ input.a }} ${{ (1 }}").message().find("expected ')'"),
            std::string::npos);
}

TEST(Condition, AcceptsBracesOrABareExpression) {
  EXPECT_TRUE(Condition("${{ steps.fetch.output.ok == true }}"));
  EXPECT_TRUE(Condition("steps.fetch.output.status == 200"));
  EXPECT_TRUE(Condition("  ${{ input.flag }}  "));
  EXPECT_TRUE(Condition("${{input.flag}}"));
  EXPECT_FALSE(Condition("${{ input.off }}"));
  EXPECT_FALSE(Condition("input.count > 3"));
}

TEST(Condition, GivesTheTruthinessOfTheValue) {
  EXPECT_TRUE(Condition("input.name"));
  EXPECT_TRUE(Condition("input.list"));
  EXPECT_FALSE(Condition("input.empty"));
  EXPECT_FALSE(Condition("input.zero"));
  EXPECT_FALSE(Condition("${{ input.nope }}"));
  EXPECT_TRUE(Condition("'false'"));
}

TEST(Condition, MustBeExactlyOneExpression) {
  EXPECT_EQ(ConditionError("${{ input.flag }} && ${{ input.flag }}"),
            "in condition \"${{ input.flag }} && ${{ input.flag }}\": a condition must be exactly "
            "one expression, like ${{ input.ok }}");
  EXPECT_NE(ConditionError("x ${{ input.flag }}").find("exactly one expression"),
            std::string::npos);
}

TEST(Condition, ReportsErrorsWithPositionsInTheCondition) {
  EXPECT_EQ(ConditionError("  ${{ foo }}"),
            "in condition \"  ${{ foo }}\": unknown identifier 'foo' at 7 (paths start with input, "
            "steps or run; strings need quotes)");
  EXPECT_EQ(ConditionError(" input.a)"), "in condition \" input.a)\": unexpected ')' at 9");
  EXPECT_EQ(ConditionError(""), "in condition \"\": empty expression at 1");
  EXPECT_EQ(ConditionError("${{ }}"), "in condition \"${{ }}\": empty expression at 5");
  EXPECT_NE(ConditionError("${{ input.flag").find("unterminated '${{'"), std::string::npos);
  EXPECT_EQ(ConditionError("input.count < 'x'"),
            "in condition \"input.count < 'x'\": '<' at 13 needs two numbers or two strings, got "
            "number and string");
}

// Deterministic pseudo-random bytes for the robustness tests.
class Bytes {
 public:
  explicit Bytes(uint64_t seed) : state_(seed * 0x9e3779b97f4a7c15ull + 1) {}
  uint64_t Next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return state_;
  }
  size_t Below(size_t n) { return static_cast<size_t>(Next() % n); }

 private:
  uint64_t state_;
};

// Exercises every entry point; any result is fine as long as errors are
// kInvalidArgument and nothing crashes. Returns whether `text` parsed.
bool ExerciseAll(const std::string& text, const json& scope) {
  Result<Expression> parsed = Expression::Parse(text);
  if (parsed.ok()) {
    Result<json> value = parsed->Evaluate(scope);
    EXPECT_TRUE(value.ok() || value.status().code() == StatusCode::kInvalidArgument);
  } else {
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  }
  for (const std::string& s : {text, "${{ " + text + " }}", "a ${{ " + text + " }} b"}) {
    Result<json> rendered = RenderTemplate(json::array({s, {{"k", s}}}), scope);
    EXPECT_TRUE(rendered.ok() || rendered.status().code() == StatusCode::kInvalidArgument);
    if (rendered.ok()) {
      // Whatever was rendered serializes (invalid UTF-8 can only come from `text`).
      EXPECT_FALSE(rendered->dump(-1, ' ', false, json::error_handler_t::replace).empty());
    }
    const Status valid = ValidateTemplate(s);
    EXPECT_TRUE(valid.ok() || valid.code() == StatusCode::kInvalidArgument);
  }
  Result<bool> condition = EvaluateCondition(text, scope);
  EXPECT_TRUE(condition.ok() || condition.status().code() == StatusCode::kInvalidArgument);
  return parsed.ok();
}

TEST(Robustness, RandomGarbageNeverCrashes) {
  static constexpr std::string_view kPieces[] = {
      "input", "steps", "run", ".",     "[",    "]",    "(",  ")",    "!",    "==",   "!=", "<",
      "<=",    ">",     ">=",  "&&",    "||",   "&",    "|",  "=",    "'",    "\"",   "\\", "\\u",
      "d83d",  "0",     "1",   "-",     "1.5",  "1e",   "e9", " ",    "\n",   "${{",  "}}", "{",
      "}",     "$",     "a",   "fetch", "true", "null", "é",  "\xff", "\xc3", "\0"sv, "_",  "list"};
  const json scope = TestScope();
  Bytes bytes(1);
  int parsed = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text;
    const size_t pieces = bytes.Below(24);
    for (size_t k = 0; k < pieces; ++k) {
      text.append(kPieces[bytes.Below(std::size(kPieces))]);
    }
    parsed += ExerciseAll(text, scope) ? 1 : 0;
  }
  EXPECT_GT(parsed, 100);  // The generator also reaches the evaluator.
}

TEST(Robustness, RandomBytesNeverCrash) {
  const json scope = TestScope();
  Bytes bytes(2);
  for (int i = 0; i < 5000; ++i) {
    std::string text(bytes.Below(40), '\0');
    for (char& c : text) {
      c = static_cast<char>(bytes.Next());
    }
    ExerciseAll(text, scope);
  }
}

TEST(Robustness, MutatedValidExpressionsNeverCrash) {
  const std::vector<std::string> seeds = {
      "steps.fetch.output.status >= 200 && steps.fetch.output.status < 300",
      "!(input.list[2].deep == 'x') || run.id != \"run_01\"",
      "input.name == 'it\\'s \\u00e9' && (input.count > 1.5e0 || input.none == null)",
  };
  const json scope = TestScope();
  Bytes bytes(3);
  const std::string_view alphabet = "()[]!=<>&|'\".\\ 0123456789eu-${}";
  int parsed = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text = seeds[bytes.Below(seeds.size())];
    const size_t edits = 1 + bytes.Below(4);
    for (size_t k = 0; k < edits && !text.empty(); ++k) {
      const size_t at = bytes.Below(text.size());
      switch (bytes.Below(3)) {
        case 0:
          text.erase(at, 1);
          break;
        case 1:
          text.insert(text.begin() + at, alphabet[bytes.Below(alphabet.size())]);
          break;
        default:
          text[at] = alphabet[bytes.Below(alphabet.size())];
          break;
      }
    }
    parsed += ExerciseAll(text, scope) ? 1 : 0;
  }
  EXPECT_GT(parsed, 1000);  // Many mutants still parse and get evaluated.
}

TEST(Robustness, OddScopesNeverCrash) {
  const std::vector<json> scopes = {
      nullptr,
      json::array(),
      json("input"),
      42,
      json::object(),
      {{"input", nullptr}},
      {{"input", json::array({1})}},
      {{"steps", "x"}},
      {{"input", {{"list", json::object()}}}},
  };
  for (const json& scope : scopes) {
    for (const char* source : {"input", "input.list[0]", "steps.a.output == null", "run < 1",
                               "!input.x", "input.a.b.c[0][1]"}) {
      ExerciseAll(source, scope);
    }
  }
}

}  // namespace
}  // namespace sw
