// `kontor ach validate|format|json|build`: exit 0 on success, 1 when a file
// is invalid, 2 for usage and I/O errors.
#pragma once
#include <string>
#include <vector>

namespace kontor::payments::ach {

int CliValidate(const std::vector<std::string>& files, bool json);
int CliFormat(const std::string& file);
int CliJson(const std::string& file);
int CliBuild(const std::string& file);

}  // namespace kontor::payments::ach
