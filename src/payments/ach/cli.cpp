#include "payments/ach/cli.h"

#include <boost/json.hpp>
#include <fstream>
#include <iostream>
#include <sstream>

#include "payments/ach/build.h"
#include "payments/ach/json.h"
#include "payments/ach/reader.h"
#include "payments/ach/writer.h"

namespace kontor::payments::ach {
namespace {

bool Slurp(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return false;
  *out = ss.str();
  return true;
}

std::string TextError(const std::string& file, const Error& e) {
  std::string s = file + ":" + std::to_string(e.line) + ": record " +
                  (e.record_type ? std::string(1, e.record_type) : std::string("?"));
  if (*e.field) {
    s += std::string(" field ") + e.field + " (cols " + std::to_string(e.start) + "-" +
         std::to_string(e.end) + ")";
  }
  return s + ": " + e.Message();
}

}  // namespace

int CliValidate(const std::vector<std::string>& files, bool json) {
  bool invalid = false, io_error = false;
  boost::json::array results;
  for (const std::string& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      std::cerr << "kontor: cannot open " << file << "\n";
      io_error = true;
      continue;
    }
    // Streamed: a file of any size is checked in constant memory.
    ErrorCollector errors;
    int64_t entries = 0;
    if (!ScanStream(in, errors, &entries)) {
      std::cerr << "kontor: cannot read " << file << "\n";
      io_error = true;
      continue;
    }
    if (errors.count() > 0) invalid = true;
    if (json) {
      boost::json::object o;
      o["file"] = file;
      o["valid"] = errors.count() == 0;
      o["entries"] = entries;
      o["errorCount"] = errors.count();
      boost::json::array a;
      for (const Error& e : errors.errors()) a.push_back(ErrorToJson(e));
      o["errors"] = std::move(a);
      results.push_back(std::move(o));
    } else {
      for (const Error& e : errors.errors()) std::cout << TextError(file, e) << "\n";
      if (errors.count() > static_cast<int64_t>(errors.errors().size()))
        std::cout << file << ": " << errors.count() - static_cast<int64_t>(errors.errors().size())
                  << " more errors not shown\n";
      if (errors.count() == 0) std::cerr << file << ": valid (" << entries << " entries)\n";
    }
  }
  if (json) std::cout << boost::json::serialize(results) << "\n";
  if (io_error) return 2;
  return invalid ? 1 : 0;
}

int CliFormat(const std::string& file) {
  std::string data;
  if (!Slurp(file, &data)) {
    std::cerr << "kontor: cannot read " << file << "\n";
    return 2;
  }
  ReadResult r = Read(data);
  if (!r.ok()) {
    for (const Error& e : r.errors) std::cerr << TextError(file, e) << "\n";
    return 1;
  }
  std::cout << Write(r.file);
  return 0;
}

int CliJson(const std::string& file) {
  std::string data;
  if (!Slurp(file, &data)) {
    std::cerr << "kontor: cannot read " << file << "\n";
    return 2;
  }
  ReadResult r = Read(data);
  std::cout << FileToJson(r) << "\n";
  for (const Error& e : r.errors) std::cerr << TextError(file, e) << "\n";
  return r.ok() ? 0 : 1;
}

int CliBuild(const std::string& file) {
  std::string data;
  if (file == "-") {
    std::stringstream ss;
    ss << std::cin.rdbuf();
    data = ss.str();
  } else if (!Slurp(file, &data)) {
    std::cerr << "kontor: cannot read " << file << "\n";
    return 2;
  }
  BuildResult b = BuildFromJson(data);
  if (!b.ok()) {
    for (const std::string& e : b.errors) std::cerr << file << ": " << e << "\n";
    return 1;
  }
  // The built file is checked like any other; its errors name the lines of the output.
  ReadResult r = Read(b.nacha);
  if (!r.ok()) {
    for (const Error& e : r.errors) std::cerr << TextError("<built>", e) << "\n";
    return 1;
  }
  std::cout << b.nacha;
  return 0;
}

}  // namespace kontor::payments::ach
