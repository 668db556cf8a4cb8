// Reading config.json with nlohmann::json: the path of every value for errors, key
// checks and typed getters. Internal to config/ (oci_config.cc, oci_linux.cc).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/container_spec.h"
#include "core/sys/error.h"

namespace nucleus::oci_json {

using json = nlohmann::json;

// Where in the document a value sits, for errors: "config.json: linux.resources.pids".
struct At {
  const std::string& doc;
  std::string path;
  At operator/(const std::string& key) const { return {doc, path.empty() ? key : path + "." + key}; }
  At operator[](size_t i) const { return {doc, path + "[" + std::to_string(i) + "]"}; }
  [[noreturn]] void fail(const std::string& why) const { throw Error(doc + ": " + path, why); }
};

// The keys of `obj`: `known` ones are read by the caller; a `refused` one (a field the
// runtime-spec defines that nucleus cannot honour) that asks for something is an error naming
// it; any other key is unknown and ignored, as the runtime-spec requires (logged at debug).
void check_keys(const json& obj, const At& at, std::initializer_list<const char*> known,
                std::initializer_list<const char*> refused = {});
// false for null, false, and an empty string, list or object: such a field asks nothing.
bool asks_for_something(const json& value);

// obj[key], or null when absent or JSON null.
const json* member(const json& obj, const char* key);
// obj[key]; "<at>.<key>: missing" when absent or JSON null.
const json& required(const json& obj, const At& at, const char* key);

// fn(element, its path) for each element of the list v (an error unless v is a list), once
// the element's keys are checked (check_keys).
template <class Fn>
void for_each_object(const json& v, const At& at, std::initializer_list<const char*> known,
                     std::initializer_list<const char*> refused, Fn fn) {
  if (!v.is_array()) at.fail("expected a list");
  for (size_t i = 0; i < v.size(); ++i) {
    const At e = at[i];
    check_keys(v[i], e, known, refused);
    fn(v[i], e);
  }
}

std::string get_string(const json& v, const At& at);
bool get_bool(const json& v, const At& at);
int64_t get_int(const json& v, const At& at, int64_t min, int64_t max);
std::vector<std::string> get_strings(const json& v, const At& at);
// A string that is an absolute path without NUL.
std::string absolute_path(const json& v, const At& at);

// The "linux" object, onto spec (and spec.oci): namespaces, id mappings, devices,
// resources, masked and read-only paths, sysctls, seccomp, rootfs propagation.
void parse_oci_linux(const json& v, const At& at, ContainerSpec& spec);

}  // namespace nucleus::oci_json
