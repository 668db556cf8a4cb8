#pragma once

#include <time.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/sys/unique_fd.h"

// A detached container's log, in the format containerd's CRI uses (kubelet and crictl read
// it): one record per line, "TIME STREAM TAG CONTENT", TIME RFC 3339 with nanoseconds in
// UTC, STREAM stdout or stderr, TAG F (a full line) or P (a part of a longer one). The log
// is bounded: when the next record would take the file past max_size it is rotated
// (container.log -> .1 -> .2 ..., max_files files in all, the oldest dropped), so the log
// never takes more than max_size * max_files.
namespace nucleus::service {

struct LogLimits {
  uint64_t max_size = 10ull << 20;  // bytes per file
  uint32_t max_files = 3;           // the current file and the rotated ones
};

// Longest content of one record; longer lines become P records.
inline constexpr size_t kMaxRecordContent = 16 * 1024;

struct CriRecord {
  std::string time;
  std::string stream;
  bool partial = false;
  std::string content;  // without the newline
};
std::optional<CriRecord> parse_cri_line(std::string_view line);

// The files of a log, oldest first (those that exist).
std::vector<std::string> log_files(const std::string& path, uint32_t max_files);

class LogWriter {
 public:
  LogWriter(std::string path, LogLimits limits);
  // Output of one stream as it came: whole lines are written at once, the rest waits for its
  // newline (or is written as P records once it is longer than kMaxRecordContent).
  void append(std::string_view stream, std::string_view data);
  // What waits for a newline is written (the container ended).
  void flush();

 private:
  void write_record(std::string_view stream, bool partial, std::string_view content);
  void rotate();

  std::string path_;
  LogLimits limits_;
  UniqueFd fd_;
  uint64_t size_ = 0;
  std::map<std::string, std::string, std::less<>> pending_;
};

}  // namespace nucleus::service
