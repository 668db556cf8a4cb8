#include "network/firewall/nftables.h"

#include <nftables/libnftables.h>

#include "core/sys/error.h"

namespace nucleus::net {
namespace {

// nft prints "Error: ..." then the offending line and a caret line; the first says it.
std::string first_error_line(const char* buffer) {
  std::string text = buffer ? buffer : "";
  size_t at = text.find("Error: ");
  if (at == std::string::npos) at = 0;
  size_t end = text.find('\n', at);
  return text.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

}  // namespace

Nftables::Nftables() {
  ctx_ = nft_ctx_new(NFT_CTX_DEFAULT);
  if (ctx_ == nullptr) throw Error("nftables", "cannot create a libnftables context");
  nft_ctx_buffer_output(ctx_);
  nft_ctx_buffer_error(ctx_);
}

Nftables::~Nftables() { nft_ctx_free(ctx_); }

bool Nftables::try_run(const std::string& commands) {
  int rc = nft_run_cmd_from_buffer(ctx_, commands.c_str());
  last_error_ = rc == 0 ? "" : first_error_line(nft_ctx_get_error_buffer(ctx_));
  // Drain both buffers: the next run starts empty.
  nft_ctx_get_output_buffer(ctx_);
  if (rc == 0) nft_ctx_get_error_buffer(ctx_);
  return rc == 0;
}

void Nftables::run(const std::string& commands, const std::string& step) {
  if (!try_run(commands)) throw Error(step, last_error_.empty() ? "nftables refused the rules" : last_error_);
}

void Nftables::run_each_if_batch_fails(const std::vector<std::string>& commands) {
  std::string batch;
  for (const std::string& c : commands) batch += c + "\n";
  if (try_run(batch)) return;
  for (const std::string& c : commands) try_run(c);
}

bool Nftables::table_exists(const std::string& family_and_name) {
  // Terse: without the sets' elements, which may be thousands.
  unsigned flags = nft_ctx_output_get_flags(ctx_);
  nft_ctx_output_set_flags(ctx_, flags | NFT_CTX_OUTPUT_TERSE);
  bool exists = try_run("list table " + family_and_name);
  nft_ctx_output_set_flags(ctx_, flags);
  return exists;
}

}  // namespace nucleus::net
