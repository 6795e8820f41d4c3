// ABA routing-number check digit (weights 3, 7, 1 over the first eight digits).
#pragma once
#include <string_view>

namespace kontor::payments::ach {

// Check digit for an 8-digit routing prefix, or -1 when a character is not a digit.
inline int RoutingCheckDigit(std::string_view eight) {
  static constexpr int kWeights[8] = {3, 7, 1, 3, 7, 1, 3, 7};
  if (eight.size() != 8) return -1;
  int sum = 0;
  for (int i = 0; i < 8; ++i) {
    unsigned d = static_cast<unsigned char>(eight[i]) - '0';
    if (d > 9) return -1;
    sum += kWeights[i] * static_cast<int>(d);
  }
  return (10 - sum % 10) % 10;
}

// True for a full 9-digit routing number with a matching check digit.
inline bool ValidRoutingNumber(std::string_view nine) {
  if (nine.size() != 9) return false;
  int check = RoutingCheckDigit(nine.substr(0, 8));
  return check >= 0 && nine[8] == '0' + check;
}

}  // namespace kontor::payments::ach
