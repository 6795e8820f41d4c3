#include <gtest/gtest.h>

#include "http/params.h"
#include "http/problem.h"
#include "http/router.h"
#include "http/server.h"

namespace kontor::http {
namespace {

Result<Response> Ok(Request&) { return JsonResponse(200, json::object{}); }

TEST(Router, MatchesParamsAndReportsAllowedMethods) {
  Router r;
  r.Add({"GET", "/v1/users", Access::Public(), Ok});
  r.Add({"GET", "/v1/users/{id}", Access::Public(), Ok});
  r.Add({"PATCH", "/v1/users/{id}", Access::Public(), Ok});
  auto m = r.Find("GET", "/v1/users/42");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.params["id"], "42");
  auto bad = r.Find("DELETE", "/v1/users/42");
  EXPECT_EQ(bad.route, nullptr);
  EXPECT_EQ(bad.allowed, (std::vector<std::string>{"GET", "PATCH"}));
  EXPECT_EQ(r.Find("GET", "/v1/users/42/x").route, nullptr);
  EXPECT_EQ(r.Find("GET", "/v1/users/").route, nullptr);
  EXPECT_NE(r.Find("HEAD", "/v1/users").route, nullptr);
}

TEST(Problem, ValidationNamesFields) {
  Request req;
  req.path = "/v1/x";
  req.request_id = "rid";
  Response r = Problem(Status::Validation({{"email", "bad"}}), req);
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.content_type, "application/problem+json");
  json::object o = json::parse(r.body).as_object();
  EXPECT_EQ(o["type"], "/problems/validation");
  EXPECT_EQ(o["errors"].as_array()[0].at("field"), "email");
  EXPECT_EQ(o["request_id"], "rid");
}

TEST(Problem, InternalErrorsHideDetails) {
  Request req;
  Response r = Problem(Status::Internal("password=hunter2 in SQL"), req);
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body.find("hunter2"), std::string::npos);
}

TEST(Problem, RateLimitHasRetryAfter) {
  Request req;
  Response r = Problem(Status::ResourceExhausted("slow down", 42), req);
  EXPECT_EQ(r.status, 429);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0], (std::pair<std::string, std::string>{"Retry-After", "42"}));
}

TEST(Target, ParsesQueryAndRejectsGarbage) {
  std::string path;
  std::map<std::string, std::string> q;
  ASSERT_TRUE(ParseTarget("/v1/audit?action=user.create&limit=5&q=a%20b", &path, &q));
  EXPECT_EQ(path, "/v1/audit");
  EXPECT_EQ(q["q"], "a b");
  EXPECT_EQ(q["limit"], "5");
  EXPECT_FALSE(ParseTarget("http://x y", &path, &q));
}

TEST(Params, LimitAndCursorAndIfMatch) {
  Request req;
  req.query["limit"] = "0";
  EXPECT_EQ(LimitParam(req).status().fields()[0].field, "limit");
  req.query["limit"] = "20";
  EXPECT_EQ(*LimitParam(req), 20);
  req.query["cursor"] = "abc";
  EXPECT_FALSE(CursorParam(req).ok());
  req.headers.emplace_back("if-match", "W/\"7\"");
  EXPECT_EQ(**IfMatchVersion(req), 7);
}

TEST(Listen, Parses) {
  std::string host;
  int port;
  ASSERT_TRUE(ParseListen("127.0.0.1:8080", &host, &port).ok());
  EXPECT_EQ(port, 8080);
  ASSERT_TRUE(ParseListen("[::1]:0", &host, &port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_FALSE(ParseListen("8080", &host, &port).ok());
  EXPECT_FALSE(ParseListen("h:99999", &host, &port).ok());
}

}  // namespace
}  // namespace kontor::http

namespace kontor::http {
namespace {

TEST(SpoolFileTest, AppendsPastTheBufferAndReadsBackAnywhere) {
  auto f = SpoolFile::Create();
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  std::string expected;
  for (int i = 0; i < 30000; ++i) {
    std::string line = "row " + std::to_string(i) + std::string(i % 97, 'x') + "\n";
    expected += line;
    ASSERT_TRUE((*f)->Append(line).ok());
  }
  ASSERT_TRUE((*f)->Flush().ok());
  ASSERT_EQ((*f)->size(), expected.size());
  ASSERT_GT(expected.size(), 1u << 20) << "crosses the 1 MiB buffer";
  std::string back(expected.size(), '\0');
  for (uint64_t at = 0; at < expected.size();) {
    const size_t got = (*f)->Read(at, back.data() + at, 100'000);
    ASSERT_GT(got, 0u);
    at += got;
  }
  EXPECT_EQ(back, expected);
  char c;
  EXPECT_EQ((*f)->Read(expected.size(), &c, 1), 0u);
}

}  // namespace
}  // namespace kontor::http
