// The run filter parser (control/run_filter.h) for `run_ids`, from a query and from a
// bulk operation's JSON filter: what it accepts, and the 400 naming `run_ids` for
// everything else. One parser serves both, so the two must agree.
#include "control/run_filter.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace sw {
namespace {

using nlohmann::json;

const std::string kRunA = "run_01JD3A0000000000000000000A";
const std::string kRunB = "run_01JD3B0000000000000000000B";

// `n` distinct well-formed run ids.
std::vector<std::string> RunIds(int n) {
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) {
    std::string digits = std::to_string(i);
    ids.push_back("run_" + std::string(26 - digits.size(), '0') + digits);
  }
  return ids;
}

std::string Join(const std::vector<std::string>& ids) {
  std::string out;
  for (const std::string& id : ids) {
    out += (out.empty() ? "" : ",") + id;
  }
  return out;
}

// The field a refusal names; "" when the filter was accepted.
std::string RefusedField(const Result<RunFilter>& f) {
  if (f.ok()) {
    return "";
  }
  EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument);
  return f.status().detail().field;
}

TEST(RunFilterTest, RunIdsFromAQueryAreTheCommaSeparatedIds) {
  Result<RunFilter> f = ParseRunFilterQuery({{"run_ids", kRunA + "," + kRunB}});
  ASSERT_TRUE(f.ok()) << f.status().message();
  ASSERT_TRUE(f->run_ids.has_value());
  EXPECT_EQ(*f->run_ids, (std::vector<std::string>{kRunA, kRunB}));

  f = ParseRunFilterQuery({{"status", "waiting"}});
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(f->run_ids.has_value());
}

TEST(RunFilterTest, FiveHundredRunIdsAreTakenAndOneMoreIsRefused) {
  std::vector<std::string> ids = RunIds(500);
  Result<RunFilter> f = ParseRunFilterQuery({{"run_ids", Join(ids)}});
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->run_ids->size(), 500u);

  ids = RunIds(501);
  f = ParseRunFilterQuery({{"run_ids", Join(ids)}});
  EXPECT_EQ(RefusedField(f), "run_ids");
  EXPECT_NE(f.status().message().find("more than 500"), std::string::npos) << f.status().message();
}

TEST(RunFilterTest, AnythingButRunIdsIsRefusedNamingRunIds) {
  for (const std::string& value :
       {std::string(""), std::string(","), kRunA + ",", "," + kRunA, kRunA + ", " + kRunB,
        std::string("run_1"), std::string("wf_01JD3A0000000000000000000A"), kRunA + "x",
        std::string("run_01jd3a0000000000000000000a"), std::string("' OR 1=1 --")}) {
    SCOPED_TRACE(value);
    EXPECT_EQ(RefusedField(ParseRunFilterQuery({{"run_ids", value}})), "run_ids");
  }
}

TEST(RunFilterTest, ABulkFilterTakesRunIdsAsAnArrayOrAString) {
  Result<RunFilter> f =
      ParseRunFilterJson(json{{"run_ids", {kRunA, kRunB}}, {"status", "waiting"}});
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(*f->run_ids, (std::vector<std::string>{kRunA, kRunB}));
  ASSERT_TRUE(f->statuses.has_value());

  f = ParseRunFilterJson(json{{"run_ids", kRunA + "," + kRunB}});
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(*f->run_ids, (std::vector<std::string>{kRunA, kRunB}));

  f = ParseRunFilterJson(json{{"run_ids", RunIds(500)}});
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->run_ids->size(), 500u);
}

TEST(RunFilterTest, ABulkFilterRefusesRunIdsThatAreNotAListOfRunIds) {
  const std::vector<json> refused = {
      json::array(),                        // no runs: never "every run"
      json(""),                             //
      json::array({kRunA, 42}),             // not a string
      json::array({kRunA + "," + kRunB}),   // one element, two ids
      json::array({kRunA, ""}),             //
      json::array({json::array({kRunA})}),  //
      json{{"id", kRunA}},                  //
      json(42),                             //
      json(true),                           //
      json(nullptr),                        //
      json(RunIds(501)),                    //
  };
  for (const json& value : refused) {
    SCOPED_TRACE(value.dump().substr(0, 200));
    EXPECT_EQ(RefusedField(ParseRunFilterJson(json{{"run_ids", value}})), "run_ids");
  }
}

}  // namespace
}  // namespace sw
