// NACHA file <-> JSON. Each record is an object of its layout's fields
// (record type and fixed sizes left out): amounts as integers, every other
// field as a string without trailing blanks.
#pragma once
#include <boost/json/fwd.hpp>
#include <string>
#include <vector>

#include "payments/ach/reader.h"

namespace kontor::payments::ach {

boost::json::object RecordToJson(const Record& record);
boost::json::object ErrorToJson(const Error& error);
// {"fileHeader":{..},"batches":[{"batchHeader":{..},"entries":[{..,"addenda":[..]}],
//  "batchControl":{..}}],"fileControl":{..}} plus "errors" when there are any.
std::string FileToJson(const ReadResult& result);
std::string ErrorsToJson(const std::vector<Error>& errors);

}  // namespace kontor::payments::ach
