// The XMP packet (document catalog /Metadata) of a personalized copy, laid out so that only a
// fixed-size slot changes per recipient:
//
//   head  ... <kontor:RecipientId>  | escaped id + spaces (capacity bytes) |  tail
//
// where the padding sits after the closing </kontor:RecipientId> (whitespace between elements
// is insignificant in XMP), so every rendering has the same length. When the master has an XMP
// packet its properties are kept and our rdf:Description is added to its rdf:RDF; otherwise
// (or when it cannot be merged safely) a fresh packet carries dc:title and our property.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace kontor::documents {

inline constexpr char kXmpNamespace[] = "https://kontor.dev/ns/pdf/1.0/";

class XmpLayout {
 public:
  // `master_xmp`: the decoded packet of the master, nullopt when it has none.
  XmpLayout(const std::optional<std::string>& master_xmp, std::string_view title,
            size_t id_capacity);

  // The full packet for `escaped_id` (see EscapeMarkup, core/markup.h); size() bytes. Requires
  // escaped_id.size() <= id_capacity().
  std::string Render(std::string_view escaped_id) const;
  size_t size() const;
  size_t id_capacity() const { return capacity_; }

 private:
  std::string head_;  // up to and including <kontor:RecipientId>
  std::string tail_;  // after the padding
  size_t capacity_;
};

}  // namespace kontor::documents
