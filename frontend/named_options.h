#pragma once

#include <algorithm>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

// `run`'s options built lazily (frontend/verbs/run.cc, service_launch.cc).
namespace nucleus::frontend {

// The option names the words after `run` use, before `--` (a workload's word that looks like
// one only costs its option's build). CLI11 spends about 3 us building an option, at every
// start, and a start names a handful of run's 50: each is built only when named, all of them
// when help is asked. A `--` right after an option word with no value of its own may be
// that option's value (`-e -- --name x`): the names go on after it.
class NamedOptions {
 public:
  explicit NamedOptions(std::optional<std::span<const std::string>> words) : all_(!words) {
    if (!words) return;
    std::string_view previous;
    for (const std::string& w : *words) {
      if (w == "--" && !may_want_a_value(previous)) break;
      previous = w;
      if (w == "-h" || w == "--help") all_ = true;
      if (w.size() < 2 || w[0] != '-') continue;
      if (w[1] == '-') {
        long_.push_back(std::string_view(w).substr(0, w.find('=')));
      } else {
        short_ += w.substr(1);  // -it, -uroot: any letter may be a flag
      }
    }
  }
  // CLI11's names, "-u,--user": whether any of them is named.
  // "-e" or "--env" (not "--env=x", "-uroot" or a cluster of flags): its value may follow.
  static bool may_want_a_value(std::string_view word) {
    if (word.size() < 2 || word[0] != '-' || word == "--") return false;
    return word[1] == '-' ? word.find('=') == std::string_view::npos : word.size() == 2;
  }

  bool operator()(std::string_view names) const {
    if (all_) return true;
    for (size_t start = 0; start < names.size();) {
      size_t end = std::min(names.find(',', start), names.size());
      std::string_view name = names.substr(start, end - start);
      if (name.size() == 2 && name[0] == '-' && short_.find(name[1]) != std::string::npos) return true;
      if (name.size() > 2 && std::find(long_.begin(), long_.end(), name) != long_.end()) return true;
      start = end + 1;
    }
    return false;
  }

 private:
  bool all_;
  std::vector<std::string_view> long_;
  std::string short_;
};

// Builds on `app` only the options `named` accepts, as CLI11's add_option and add_flag would.
class LazyOptions {
 public:
  LazyOptions(CLI::App& app, std::optional<std::span<const std::string>> words) : app_(app), named_(words) {}
  template <class T>
  CLI::Option* option(const char* names, T& into, const char* help) {
    return named_(names) ? app_.add_option(names, into, help) : nullptr;
  }
  template <class T>
  void flag(const char* names, T& into, const char* help) {
    if (named_(names)) app_.add_flag(names, into, help);
  }
  // Repeatable: each use adds one value.
  template <class T>
  void many(const char* names, std::vector<T>& into, const char* help) {
    if (CLI::Option* o = option(names, into, help)) o->expected(1)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  }

 private:
  CLI::App& app_;
  const NamedOptions named_;
};

}  // namespace nucleus::frontend
