#include "payments/ach/reader.h"

#include <cstring>
#include <memory>

namespace kontor::payments::ach {

std::string_view Record::Get(const char* field) const {
  if (!layout) return {};
  const Field* f = layout->Find(field);
  if (!f || text.size() < static_cast<size_t>(f->end())) return {};
  return f->In(text);
}

namespace {

// Builds the File model from the records the scanner accepts.
class ModelBuilder : public Handler {
 public:
  explicit ModelBuilder(ReadResult& out) : out_(out) {}
  void OnError(const Error& e) override { out_.errors.push_back(e); }
  void OnRecord(const RecordView& r) override {
    File& f = out_.file;
    if (r.padding) {
      ++f.padding;
      return;
    }
    if (!r.layout) return;
    Record rec{r.layout, std::string(r.text), r.line};
    switch (r.layout->type) {
      case '1':
        f.header = std::move(rec);
        break;
      case '5':
        f.batches.push_back(Batch{std::move(rec), {}, {}});
        break;
      case '6':
        if (f.batches.empty()) return;
        f.batches.back().entries.push_back(Entry{std::move(rec), {}});
        break;
      case '7':
        if (f.batches.empty() || f.batches.back().entries.empty()) return;
        f.batches.back().entries.back().addenda.push_back(std::move(rec));
        break;
      case '8':
        if (f.batches.empty()) return;
        f.batches.back().control = std::move(rec);
        break;
      case '9':
        f.control = std::move(rec);
        break;
    }
  }

 private:
  ReadResult& out_;
};

}  // namespace

ReadResult Read(std::string_view data) {
  ReadResult out;
  ModelBuilder builder(out);
  ScanBuffer(data, builder);
  for (const Batch& b : out.file.batches) out.entries += static_cast<int64_t>(b.entries.size());
  return out;
}

bool ScanStream(std::istream& in, Handler& handler, int64_t* entries) {
  constexpr size_t kChunk = 256 << 10;
  Scanner scanner(handler);
  std::string buf;
  std::unique_ptr<char[]> chunk(new char[kChunk]);  // not zero-filled
  bool first = true, fixed = false;
  size_t start = 0;  // start of the unconsumed part of buf
  auto emit = [&](std::string_view line) { scanner.Line(line); };
  auto drain = [&] {
    std::string_view v(buf);
    if (fixed) {
      while (v.size() - start >= static_cast<size_t>(kRecordLength)) {
        emit(v.substr(start, kRecordLength));
        start += kRecordLength;
      }
      return;
    }
    SplitLines(v, &start, /*final=*/false, 4096, emit);
  };
  while (true) {
    in.read(chunk.get(), static_cast<std::streamsize>(kChunk));
    std::streamsize got = in.gcount();
    if (got <= 0) break;
    buf.erase(0, start);
    start = 0;
    buf.append(chunk.get(), static_cast<size_t>(got));
    if (first && buf.size() > static_cast<size_t>(kRecordLength)) {
      // Records back to back without terminators: decided from the first record.
      fixed = buf.find_first_of("\r\n") == std::string::npos;
      first = false;
    }
    if (!first) drain();
  }
  if (fixed) {
    drain();
    if (start < buf.size()) emit(std::string_view(buf).substr(start));
  } else {
    SplitLines(buf, &start, /*final=*/true, buf.size(), emit);
  }
  bool ok = !in.bad();
  scanner.Finish();
  if (entries) *entries = scanner.entries();
  return ok;
}

}  // namespace kontor::payments::ach
