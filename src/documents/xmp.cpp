#include "documents/xmp.h"

#include "core/markup.h"

namespace kontor::documents {
namespace {

constexpr std::string_view kOpen = "<kontor:RecipientId>";
constexpr std::string_view kClose = "</kontor:RecipientId>";
constexpr size_t kMaxMergedXmp = 1u << 20;

std::string Description(std::string_view about) {
  return "<rdf:Description rdf:about=\"" + std::string(about) + "\" xmlns:kontor=\"" +
         kXmpNamespace + "\">\n" + std::string(kOpen);
}

// The value of the master's first rdf:about: XMP wants all descriptions to agree on it.
std::string AboutOf(std::string_view xmp) {
  const std::string_view key = "rdf:about=";
  const size_t at = xmp.find(key);
  if (at == std::string_view::npos || at + key.size() >= xmp.size()) return "";
  const char quote = xmp[at + key.size()];
  if (quote != '"' && quote != '\'') return "";
  const size_t start = at + key.size() + 1, end = xmp.find(quote, start);
  if (end == std::string_view::npos) return "";
  return std::string(xmp.substr(start, end - start));
}

}  // namespace


XmpLayout::XmpLayout(const std::optional<std::string>& master_xmp, std::string_view title,
                     size_t id_capacity)
    : capacity_(id_capacity) {
  const std::string_view rdf_end = "</rdf:RDF>";
  if (master_xmp && master_xmp->size() <= kMaxMergedXmp &&
      master_xmp->find(kOpen) == std::string::npos) {
    const size_t at = master_xmp->rfind(rdf_end);
    if (at != std::string::npos && master_xmp->find(rdf_end) == at) {
      head_ = master_xmp->substr(0, at) + Description(AboutOf(*master_xmp));
      tail_ = std::string(kClose) + "\n</rdf:Description>\n" + master_xmp->substr(at);
      return;
    }
  }
  head_ =
      "<?xpacket begin=\"\xEF\xBB\xBF\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n"
      "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n"
      "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n";
  if (!title.empty()) {
    head_ +=
        "<rdf:Description rdf:about=\"\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">"
        "<dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">" +
        EscapeMarkup(title) + "</rdf:li></rdf:Alt></dc:title></rdf:Description>\n";
  }
  head_ += Description("");
  tail_ =
      std::string(kClose) + "\n</rdf:Description>\n</rdf:RDF>\n</x:xmpmeta>\n<?xpacket end=\"w\"?>";
}

size_t XmpLayout::size() const { return head_.size() + capacity_ + tail_.size(); }

std::string XmpLayout::Render(std::string_view escaped_id) const {
  std::string out;
  out.reserve(size());
  out += head_;
  out += escaped_id;
  // The padding goes after the closing tag, where whitespace means nothing.
  const size_t close = tail_.find('\n');
  out.append(tail_, 0, close);
  out.append(capacity_ - escaped_id.size(), ' ');
  out.append(tail_, close, std::string::npos);
  return out;
}

}  // namespace kontor::documents
