#include "config/oci/oci_json.h"

#include <algorithm>

#include "core/sys/error.h"

#include <spdlog/spdlog.h>

namespace nucleus::oci_json {

// runtime-spec: "implementations MUST ignore unknown properties"; a field the spec defines
// that nucleus cannot honour is refused when it asks for something (an empty string, list
// or object, null or false asks nothing).
void check_keys(const json& obj, const At& at, std::initializer_list<const char*> known,
                std::initializer_list<const char*> refused) {
  if (!obj.is_object()) at.fail("expected an object");
  auto listed = [](std::initializer_list<const char*> keys, const std::string& key) {
    return std::find_if(keys.begin(), keys.end(), [&](const char* k) { return key == k; }) != keys.end();
  };
  for (const auto& [key, value] : obj.items()) {
    if (listed(known, key)) continue;
    if (!listed(refused, key)) {
      spdlog::debug("{}: {}: unknown key, ignored", at.doc, (at / key).path);
      continue;
    }
    if (asks_for_something(value)) (at / key).fail("not supported by nucleus");
  }
}

bool asks_for_something(const json& value) {
  return !(value.is_null() || (value.is_boolean() && !value.get<bool>()) ||
           ((value.is_string() || value.is_array() || value.is_object()) && value.empty()));
}

const json* member(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

const json& required(const json& obj, const At& at, const char* key) {
  const json* x = member(obj, key);
  if (x == nullptr) (at / key).fail("missing");
  return *x;
}

std::string get_string(const json& v, const At& at) {
  if (!v.is_string()) at.fail("expected a string");
  return v.get<std::string>();
}

bool get_bool(const json& v, const At& at) {
  if (!v.is_boolean()) at.fail("expected true or false");
  return v.get<bool>();
}

int64_t get_int(const json& v, const At& at, int64_t min, int64_t max) {
  if (!v.is_number_integer()) at.fail("expected an integer");
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) at.fail("out of range");
  int64_t n = v.get<int64_t>();
  if (n < min || n > max) at.fail("out of range (" + std::to_string(min) + " to " + std::to_string(max) + ")");
  return n;
}

std::vector<std::string> get_strings(const json& v, const At& at) {
  if (!v.is_array()) at.fail("expected a list of strings");
  std::vector<std::string> out;
  for (size_t i = 0; i < v.size(); ++i) out.push_back(get_string(v[i], at[i]));
  return out;
}

std::string absolute_path(const json& v, const At& at) {
  std::string path = get_string(v, at);
  if (path.empty() || path[0] != '/') at.fail("'" + path + "' must be an absolute path");
  if (path.find('\0') != std::string::npos) at.fail("contains NUL");
  return path;
}

}  // namespace nucleus::oci_json
