#include "daemon/files/files.h"

#include <sys/stat.h>

#include <boost/asio.hpp>
#include <filesystem>

#include "daemon/files/tar_check.h"
#include "daemon/http/api_error.h"
#include "daemon/sandbox/process.h"

namespace nucleus::daemon {

namespace asio = boost::asio;

namespace {

// Never copied into a sandbox from a workspace: version control, environment files
// (secrets by convention), private keys.
const char* const kWorkspaceExcludes[] = {".git", ".env", ".env.*", "*.pem", "*.key", "id_rsa*", "id_ecdsa*",
                                          "id_ed25519*", "*.p12", "*.pfx", ".ssh", ".aws", ".netrc"};

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  size_t nl = text.rfind('\n');
  return nl == std::string::npos ? text : text.substr(nl + 1);
}

}  // namespace

void check_workspace_path(const DaemonConfig& config, const std::string& path) {
  std::error_code ec;
  std::filesystem::path real = std::filesystem::canonical(path, ec);
  if (ec || !std::filesystem::is_directory(real))
    throw ApiError(400, "invalid_field", "workspace.path: '" + path + "' is not a directory");
  for (const std::string& root : config.workspace_roots) {
    std::filesystem::path r = std::filesystem::weakly_canonical(root);
    auto rel = real.lexically_relative(r);
    if (!rel.empty() && *rel.begin() != "..") return;
  }
  throw ApiError(403, "forbidden", "workspace.path: '" + path + "' is not under a --workspace-root of the daemon");
}

asio::awaitable<void> put_archive(SandboxManager& m, const Sandbox& s, const std::string& dir, std::string archive) {
  if (s.paused) throw ApiError(409, "paused", "sandbox '" + s.id + "' is paused");
  check_tar(archive);
  // -o: the files belong to whoever extracts them (the sandbox's user), not to the ids
  // written in the archive.
  std::vector<std::string> argv = m.nucleus_argv(std::vector<std::string>{
      "exec", s.id, "/bin/sh", "-c", "mkdir -p -- \"$1\" && exec tar -x -o -f - -C \"$1\"", "sh", dir});
  Collected c = co_await run_collect(m.io(), argv, std::move(archive));
  if (c.status != 0) throw ApiError(400, "extract_failed", "tar in the sandbox: " + trimmed(c.err));
}

asio::awaitable<std::string> get_archive(SandboxManager& m, const Sandbox& s, const std::string& path, bool contents) {
  if (s.paused) throw ApiError(409, "paused", "sandbox '" + s.id + "' is paused");
  std::filesystem::path p(path);
  std::string parent = path == "/" || contents ? path : p.parent_path().string();
  std::string name = path == "/" || contents ? "." : p.filename().string();
  std::vector<std::string> argv = m.nucleus_argv(std::vector<std::string>{
      "exec", s.id, "/bin/sh", "-c", "test -e \"$1/$2\" || exit 3; exec tar -c -f - -C \"$1\" -- \"$2\"", "sh", parent,
      name});
  Collected c = co_await run_collect(m.io(), argv, std::nullopt, m.config().max_file_bytes + 1);
  if (c.status == 3) throw ApiError(404, "not_found", "no '" + path + "' in the sandbox");
  if (c.status != 0) throw ApiError(500, "archive_failed", "tar in the sandbox: " + trimmed(c.err));
  if (c.out.size() > m.config().max_file_bytes)
    throw ApiError(413, "too_large", "the archive is over " + std::to_string(m.config().max_file_bytes) + " bytes");
  co_return c.out;
}

asio::awaitable<void> copy_workspace_in(SandboxManager& m, const Sandbox& s, const WorkspaceRequest& w) {
  check_workspace_path(m.config(), w.path);
  std::vector<std::string> args = {"/usr/bin/tar", "-c", "-f", "-"};
  for (const char* e : kWorkspaceExcludes) args.push_back(std::string("--exclude=") + e);
  for (const std::string& e : w.exclude) args.push_back("--exclude=" + e);
  args.insert(args.end(), {"-C", w.path, "."});
  Collected c = co_await run_collect(m.io(), args, std::nullopt, m.config().max_file_bytes + 1);
  if (c.status != 0) throw ApiError(400, "workspace_failed", "tar of the workspace: " + trimmed(c.err));
  if (c.out.size() > m.config().max_file_bytes)
    throw ApiError(413, "too_large", "the workspace is over " + std::to_string(m.config().max_file_bytes) + " bytes");
  co_await put_archive(m, s, w.target, std::move(c.out));
}

asio::awaitable<void> copy_workspace_out(SandboxManager& m, const Sandbox& s, const WorkspaceRequest& w) {
  std::string archive = co_await get_archive(m, s, w.target, /*contents=*/true);
  check_tar(archive);  // what the sandbox made is untrusted: no member may leave path
  std::vector<std::string> argv{"/usr/bin/tar", "-x", "-f", "-", "--no-same-owner", "--no-same-permissions", "-C", w.path};
  Collected c = co_await run_collect(m.io(), argv, std::move(archive));
  if (c.status != 0) throw ApiError(500, "workspace_failed", "copy out of the workspace: " + trimmed(c.err));
}

}  // namespace nucleus::daemon
