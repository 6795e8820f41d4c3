#include "http/openapi.h"

#include "http/router.h"

namespace kontor::http {

std::string AccessString(const Access& a) {
  switch (a.kind) {
    case Access::Kind::kPublic: return "public";
    case Access::Kind::kAuthenticated: return "authenticated";
    case Access::Kind::kPermission:
      return std::string(auth::ComponentName(a.component)) + ":" + std::string(auth::LevelName(a.level));
  }
  return "";
}

json::object BuildOpenApi(const Router& router, const std::string& version) {
  json::object paths;
  for (const Route& r : router.routes()) {
    json::object op;
    op["summary"] = r.summary;
    op["tags"] = json::array{r.tag};
    op["operationId"] = r.method + " " + r.pattern;
    op["x-permission"] = AccessString(r.access);
    if (r.access.kind == Access::Kind::kPublic) {
      op["security"] = json::array{};
    }
    json::array params;
    for (auto seg : SplitPath(r.pattern)) {
      if (seg.size() > 2 && seg.front() == '{') {
        params.push_back({{"name", std::string(seg.substr(1, seg.size() - 2))},
                          {"in", "path"},
                          {"required", true},
                          {"schema", {{"type", "string"}}}});
      }
    }
    for (const auto& q : r.query) {
      params.push_back({{"name", q.name}, {"in", "query"}, {"description", q.description},
                        {"schema", {{"type", q.type}}}});
    }
    if (!params.empty()) op["parameters"] = std::move(params);
    if (!r.request_schema.is_null()) {
      op["requestBody"] = {{"required", true},
                           {"content", {{"application/json", {{"schema", r.request_schema}}}}}};
    } else if (!r.raw_body.empty()) {
      op["requestBody"] = {{"required", true},
                           {"content", {{r.raw_body, {{"schema", {{"type", "string"}}}}}}}};
    }
    json::object responses;
    json::object ok{{"description", "success"}};
    if (!r.response_schema.is_null()) ok["content"] = {{r.content_type, {{"schema", r.response_schema}}}};
    responses[std::to_string(r.success_status)] = std::move(ok);
    auto problem = [](const char* d) {
      return json::object{{"description", d},
                          {"content", {{"application/problem+json", {{"schema", {{"$ref", "#/components/schemas/Problem"}}}}}}}};
    };
    if (r.access.kind != Access::Kind::kPublic) responses["401"] = problem("no or bad credentials");
    if (r.access.kind == Access::Kind::kPermission) responses["403"] = problem("permission missing");
    if (!r.raw_body.empty()) {
      responses["413"] = problem("body too large");
      responses["422"] = problem("validation failed");
    }
    if (!r.request_schema.is_null()) {
      responses["400"] = problem("malformed JSON");
      responses["413"] = problem("body too large");
      responses["415"] = problem("not application/json");
      responses["422"] = problem("validation failed");
    }
    op["responses"] = std::move(responses);
    std::string lower = r.method;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    json::value& item = paths[r.pattern];
    if (!item.is_object()) item.emplace_object();
    item.as_object()[lower] = std::move(op);
  }
  return {
      {"openapi", "3.1.0"},
      {"info", {{"title", "Kontor API"}, {"version", version},
                {"description", "Client hub, communications, documents, portal, payments and analytics middleware."}}},
      {"servers", json::array{{{"url", "/"}}}},
      {"paths", std::move(paths)},
      {"components",
       {{"securitySchemes",
         {{"bearer", {{"type", "http"}, {"scheme", "bearer"}, {"description", "API token kt_..."}}},
          {"session", {{"type", "apiKey"}, {"in", "cookie"}, {"name", "kontor_session"}}}}},
        {"schemas",
         {{"Problem",
           {{"type", "object"},
            {"properties",
             {{"type", {{"type", "string"}}},
              {"title", {{"type", "string"}}},
              {"status", {{"type", "integer"}}},
              {"detail", {{"type", "string"}}},
              {"instance", {{"type", "string"}}},
              {"request_id", {{"type", "string"}}},
              {"errors", {{"type", "array"},
                          {"items", {{"type", "object"},
                                     {"properties", {{"field", {{"type", "string"}}},
                                                     {"message", {{"type", "string"}}}}}}}}}}}}}}}}},
      {"security", json::array{{{"bearer", json::array{}}}, {{"session", json::array{}}}}},
  };
}

}  // namespace kontor::http
