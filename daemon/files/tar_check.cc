#include "daemon/files/tar_check.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>

#include "daemon/http/api_error.h"

namespace nucleus::daemon {
namespace {

constexpr size_t kBlock = 512;

[[noreturn]] void refuse(const std::string& code, const std::string& why) { throw ApiError(400, code, why); }

uint64_t octal(std::string_view field) {
  uint64_t v = 0;
  bool digits = false;
  for (char c : field) {
    if (c == '\0' || (c == ' ' && digits)) break;
    if (c == ' ') continue;
    if (c < '0' || c > '7') refuse("bad_archive", "a tar header has a bad number");
    v = v * 8 + static_cast<uint64_t>(c - '0');
    digits = true;
  }
  return v;
}

std::string cstring(std::string_view field) { return std::string(field.substr(0, field.find('\0'))); }

bool checksum_ok(const unsigned char* h) {
  uint64_t sum = 0;
  for (size_t i = 0; i < kBlock; ++i) sum += (i >= 148 && i < 156) ? ' ' : h[i];
  return sum == octal(std::string_view(reinterpret_cast<const char*>(h) + 148, 8));
}

// The components of a relative path, "." dropped; nullopt when it is absolute.
std::vector<std::string> components(const std::string& path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string part = path.substr(start, end - start);
    if (!part.empty() && part != ".") out.push_back(part);
    start = end + 1;
  }
  return out;
}

void check_member_name(const std::string& name) {
  if (name.empty()) refuse("bad_archive", "a member has no name");
  if (name[0] == '/') refuse("path_traversal", "member '" + name + "' is absolute");
  for (const std::string& part : components(name))
    if (part == "..") refuse("path_traversal", "member '" + name + "' climbs with '..'");
}

// pax extended header records: "LEN key=value\n".
void apply_pax(std::string_view data, std::string& path, std::string& linkpath) {
  while (!data.empty()) {
    size_t space = data.find(' ');
    if (space == std::string_view::npos) refuse("bad_archive", "a pax header is malformed");
    size_t len = 0;
    for (char c : data.substr(0, space)) {
      if (c < '0' || c > '9') refuse("bad_archive", "a pax header is malformed");
      len = len * 10 + static_cast<size_t>(c - '0');
    }
    if (len <= space + 1 || len > data.size()) refuse("bad_archive", "a pax header is malformed");
    std::string_view record = data.substr(space + 1, len - space - 2);
    size_t eq = record.find('=');
    if (eq != std::string_view::npos) {
      if (record.substr(0, eq) == "path") path = std::string(record.substr(eq + 1));
      if (record.substr(0, eq) == "linkpath") linkpath = std::string(record.substr(eq + 1));
    }
    data.remove_prefix(len);
  }
}

}  // namespace

bool link_stays_inside(const std::string& member, const std::string& target) {
  if (target.empty() || target[0] == '/') return false;
  std::vector<std::string> dir = components(member);
  if (!dir.empty()) dir.pop_back();  // the link's own name
  for (const std::string& part : components(target)) {
    if (part == "..") {
      if (dir.empty()) return false;
      dir.pop_back();
    } else {
      dir.push_back(part);
    }
  }
  return true;
}

TarSummary check_tar(std::string_view archive) {
  TarSummary summary;
  size_t at = 0;
  std::string long_name, long_link, pax_path, pax_link;
  for (;;) {
    if (at + kBlock > archive.size()) refuse("bad_archive", "the archive ends inside a header (not a tar stream?)");
    const auto* h = reinterpret_cast<const unsigned char*>(archive.data() + at);
    bool zero = std::all_of(h, h + kBlock, [](unsigned char c) { return c == 0; });
    if (zero) break;
    if (!checksum_ok(h)) refuse("bad_archive", "a tar header's checksum is wrong (not a tar stream?)");
    std::string_view header(archive.data() + at, kBlock);
    char type = header[156];
    uint64_t size = octal(header.substr(124, 12));
    at += kBlock;
    uint64_t padded = (size + kBlock - 1) / kBlock * kBlock;
    if (size > archive.size() || at + padded > archive.size()) refuse("bad_archive", "a member runs past the end of the archive");
    std::string_view data = archive.substr(at, size);
    at += padded;
    if (type == 'L') { long_name = cstring(data); continue; }
    if (type == 'K') { long_link = cstring(data); continue; }
    if (type == 'x') { apply_pax(data, pax_path, pax_link); continue; }
    if (type == 'g') continue;
    std::string name = cstring(header.substr(0, 100));
    if (header.substr(257, 5) == "ustar") {
      std::string prefix = cstring(header.substr(345, 155));
      if (!prefix.empty()) name = prefix + "/" + name;
    }
    std::string link = cstring(header.substr(157, 100));
    if (!long_name.empty()) name = long_name;
    if (!pax_path.empty()) name = pax_path;
    if (!long_link.empty()) link = long_link;
    if (!pax_link.empty()) link = pax_link;
    long_name.clear(), long_link.clear(), pax_path.clear(), pax_link.clear();
    check_member_name(name);
    switch (type) {
      case '0': case '\0': case '7': case '5': break;
      case '1':  // hard link: its target is a member's name, relative to the top
        check_member_name(link);
        break;
      case '2':
        if (!link_stays_inside(name, link))
          refuse("path_traversal", "symlink '" + name + "' -> '" + link + "' points outside the extraction directory");
        break;
      default:
        refuse("bad_archive", "member '" + name + "' is a device, fifo or unknown type (only files, directories and links)");
    }
    ++summary.members;
    summary.bytes += size;
  }
  return summary;
}

namespace {

void put_octal(char* field, size_t width, uint64_t value) {
  std::snprintf(field, width, "%0*llo", static_cast<int>(width - 1), static_cast<unsigned long long>(value));
}

}  // namespace

std::string make_tar(const std::map<std::string, std::string>& files) {
  std::string out;
  for (const auto& [path, content] : files) {
    std::string name = path.substr(path.find_first_not_of('/'));
    if (name.size() > 99) throw ApiError(400, "invalid_field", "files." + path + ": path longer than 99 bytes");
    char h[kBlock] = {};
    std::memcpy(h, name.data(), name.size());
    put_octal(h + 100, 8, 0644);
    put_octal(h + 108, 8, 0);
    put_octal(h + 116, 8, 0);
    put_octal(h + 124, 12, content.size());
    put_octal(h + 136, 12, 0);
    h[156] = '0';
    std::memcpy(h + 257, "ustar", 6);
    std::memcpy(h + 263, "00", 2);
    std::memset(h + 148, ' ', 8);
    uint64_t sum = 0;
    for (unsigned char c : std::string_view(h, kBlock)) sum += c;
    std::snprintf(h + 148, 8, "%06llo", static_cast<unsigned long long>(sum));
    out.append(h, kBlock);
    out += content;
    out.append((kBlock - content.size() % kBlock) % kBlock, '\0');
  }
  out.append(2 * kBlock, '\0');
  return out;
}

}  // namespace nucleus::daemon
