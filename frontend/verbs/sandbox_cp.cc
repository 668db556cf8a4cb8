#include "frontend/verbs/sandbox_cp.h"

#include <cstdio>
#include <filesystem>
#include <optional>

#include "core/sys/error.h"
#include "daemon/client/api_client.h"
#include "daemon/files/tar_check.h"
#include "daemon/http/api_error.h"

namespace nucleus::frontend {
namespace {

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// "ID:PATH" -> {ID, PATH}; a host path has no colon before its first slash.
std::optional<std::pair<std::string, std::string>> sandbox_side(const std::string& arg) {
  size_t colon = arg.find(':');
  if (colon == std::string::npos || colon == 0 || arg.find('/') < colon) return std::nullopt;
  return std::pair{arg.substr(0, colon), arg.substr(colon + 1)};
}

std::string tar_of(const std::string& host_path) {
  std::filesystem::path p = std::filesystem::absolute(host_path).lexically_normal();
  if (!std::filesystem::exists(p)) throw Error("sandbox cp", "no such file: " + host_path);
  std::string name = p.filename().empty() ? p.parent_path().filename().string() : p.filename().string();
  std::string cmd = "tar -c -f - -C " + quote(p.parent_path().string()) + " -- " + quote(name);
  FILE* f = ::popen(cmd.c_str(), "r");
  if (!f) throw_errno("run tar");
  std::string out;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  if (::pclose(f) != 0) throw Error("sandbox cp", "tar of " + host_path + " failed");
  return out;
}

void untar_into(const std::string& archive, const std::string& dir) {
  std::string cmd = "tar -x -f - --no-same-owner -C " + quote(dir);
  FILE* f = ::popen(cmd.c_str(), "w");
  if (!f) throw_errno("run tar");
  std::fwrite(archive.data(), 1, archive.size(), f);
  if (::pclose(f) != 0) throw Error("sandbox cp", "extracting into " + dir + " failed");
}

}  // namespace

int sandbox_copy(const std::string& socket, const std::string& src, const std::string& dst) {
  daemon::ApiClient client(socket);
  auto from = sandbox_side(src);
  auto to = sandbox_side(dst);
  if (from.has_value() == to.has_value()) throw Error("sandbox cp", "exactly one of SRC and DST is ID:PATH");
  if (to) {
    daemon::ApiResponse r = client.call("PUT", "/v1/sandboxes/" + to->first + "/files?path=" + daemon::url_encode(to->second),
                                        tar_of(src), "application/x-tar");
    if (r.status != 204 && r.status != 200) throw Error("sandbox cp", daemon::error_message(r));
    return 0;
  }
  daemon::ApiResponse r = client.call("GET", "/v1/sandboxes/" + from->first + "/files?path=" + daemon::url_encode(from->second));
  if (r.status != 200) throw Error("sandbox cp", daemon::error_message(r));
  try {
    daemon::check_tar(r.body);
  } catch (const daemon::ApiError& e) {
    throw Error("sandbox cp", std::string("refused the sandbox's archive: ") + e.what());
  }
  std::filesystem::create_directories(dst);
  untar_into(r.body, dst);
  return 0;
}

}  // namespace nucleus::frontend
