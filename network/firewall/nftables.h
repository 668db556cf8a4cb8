#pragma once

#include <string>
#include <vector>

struct nft_ctx;

// libnftables: nft's own parser and netlink batches, in process (no `nft` process). Each
// run() is one transaction: all of the text applies, or none of it.
namespace nucleus::net {

class Nftables {
 public:
  Nftables();
  ~Nftables();
  Nftables(const Nftables&) = delete;
  Nftables& operator=(const Nftables&) = delete;

  // Throws Error(step, nft's first error line).
  void run(const std::string& commands, const std::string& step);
  // false (and no throw) when the transaction failed; the error is kept in last_error().
  bool try_run(const std::string& commands);
  const std::string& last_error() const { return last_error_; }

  // One transaction; if it fails, each command alone, ignoring those that fail (what they
  // remove is already gone). For idempotent removals.
  void run_each_if_batch_fails(const std::vector<std::string>& commands);

  bool table_exists(const std::string& family_and_name);

 private:
  nft_ctx* ctx_ = nullptr;
  std::string last_error_;
};

}  // namespace nucleus::net
