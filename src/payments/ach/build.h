// JSON (the shape `FileToJson` writes) to a NACHA file with the controls
// computed: batch and file counts, entry hashes, debit and credit totals,
// block count and all-9 padding, and each entry's addenda record indicator.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace kontor::payments::ach {

struct BuildResult {
  std::string nacha;                // empty when errors is not
  std::vector<std::string> errors;  // "batches[0].entries[1].amount: ..."
  bool ok() const { return errors.empty(); }
};

BuildResult BuildFromJson(std::string_view json_text);

}  // namespace kontor::payments::ach
