#include "network/ipam/recycle_marks.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/sys/error.h"
#include "core/sys/scoped.h"
#include "network/naming.h"
#include "network/standby_policy.h"
#include "tests/support/dead_owner.h"

// The marks nucleus leaves on a recyclable namespace, with the namespace this test runs in
// standing for a standby's (its inode listed in an index of the test's own).
namespace nucleus::net {
namespace {

class RecycleMarksTest : public ::testing::Test {
 protected:
  TempDir dir{"/tmp", "nucleus-marks-test-"};
  std::string index = dir.path() + "/index";
  LeaseStore store{dir.path() + "/network", index};
  NetworkRequest request;

  static unsigned long long own_netns_inode() {
    struct stat st {};
    EXPECT_EQ(::stat("/proc/self/ns/net", &st), 0);
    return st.st_ino;
  }
  // Whether the namespace's entry is in the index (a link to a path that is no file).
  bool listed() const {
    struct stat st {};
    return ::lstat((index + "/" + std::to_string(own_netns_inode())).c_str(), &st) == 0;
  }
  // A standby's lease on this process's namespace, listed as recyclable.
  Lease standby_lease(LeaseStore& in) {
    LeaseStore::Lock lock(in);
    LeaseOwner self = LeaseOwner::self();
    Lease lease = in.allocate(lock, standby_id(self.pid, self.start_time), request, self);
    index_recyclable(in, own_netns_inode(), lease.key, self);
    lease.netns_inode = own_netns_inode();
    in.rewrite(lock, lease);
    return lease;
  }
  // This namespace's entry as a netd killed since left it (key: its lease's).
  void list_as_if_killed(const std::string& key) {
    ::mkdir(index.c_str(), 0700);
    const LeaseOwner gone = test::dead_owner();
    const std::string target = dir.path() + "/network/" + key + " " + std::to_string(gone.pid) + " " + std::to_string(gone.start_time);
    ASSERT_EQ(::symlink(target.c_str(), (index + "/" + std::to_string(own_netns_inode())).c_str()), 0);
  }
  // The standby's lease handed to container `id`, as a take-over does.
  Lease held_by(const std::string& id) {
    Lease lease = standby_lease(store);
    LeaseStore::Lock lock(store);
    store.hand_over(lock, lease, id);
    return lease;
  }
};

TEST_F(RecycleMarksTest, ANamespaceNobodyListedIsJoinedAsIs) {
  UniqueFd fd = open_network_namespace_to_join("/proc/self/ns/net", "member", index);
  EXPECT_TRUE(fd);
  EXPECT_NE(::access(index.c_str(), F_OK), 0);  // nothing made for it
}

TEST_F(RecycleMarksTest, AContainersNamespaceIsMarkedBeforeAMemberJoinsIt) {
  Lease head = held_by("head");
  EXPECT_TRUE(listed());
  EXPECT_FALSE(unrecyclable_mark(store, head));
  UniqueFd fd = open_network_namespace_to_join("/proc/self/ns/net", "member", index);
  EXPECT_TRUE(fd);
  EXPECT_EQ(unrecyclable_mark(store, head), "container member joined it by path");
  // Its netd reads the mark through the lease, whichever id holds it.
  EXPECT_EQ(unrecyclable_mark(store, *store.find("head")), "container member joined it by path");
}

TEST_F(RecycleMarksTest, ANamespaceNoContainerHoldsIsNeverJoined) {
  Lease standby = standby_lease(store);
  try {
    open_network_namespace_to_join("/proc/self/ns/net", "member", index);
    ADD_FAILURE() << "joined a standby's namespace";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("join the network namespace /proc/self/ns/net: it is a namespace nucleus-netd "
                                         "prepared ahead, which no container holds"),
              std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(unrecyclable_mark(store, standby));
}

TEST_F(RecycleMarksTest, AnExecsMarkSaysWhy) {
  Lease head = held_by("head");
  {
    LeaseStore::Lock lock(store);
    mark_unrecyclable(lock, store, head, "a process was exec'd into it with NET_ADMIN, NET_RAW or SYS_ADMIN");
  }
  EXPECT_EQ(unrecyclable_mark(store, head), "a process was exec'd into it with NET_ADMIN, NET_RAW or SYS_ADMIN");
}

TEST_F(RecycleMarksTest, AnEarlierReleasesLeaseIsMarkedWhereItsNetdLooks) {
  // Handed from a standby to a container by a netd that wrote no netns_inode: that netd
  // looks for a mark named by the holder's id.
  Lease head = held_by("head");
  head.netns_inode = 0;
  const std::string named_by_id = dir.path() + "/network/" + network_key("head") + ".unrecyclable";
  EXPECT_EQ(unrecyclable_mark_path(store, head), named_by_id);
  {
    LeaseStore::Lock lock(store);
    mark_unrecyclable(lock, store, head, "a process was exec'd into it with NET_ADMIN, NET_RAW or SYS_ADMIN");
  }
  EXPECT_EQ(::access(named_by_id.c_str(), F_OK), 0);
  store.remove(head);
  EXPECT_NE(::access(named_by_id.c_str(), F_OK), 0);
}

TEST_F(RecycleMarksTest, TheMarkAndTheEntryGoWithTheLease) {
  Lease head = held_by("head");
  open_network_namespace_to_join("/proc/self/ns/net", "member", index);
  ASSERT_TRUE(unrecyclable_mark(store, head));
  store.remove(head);
  EXPECT_FALSE(unrecyclable_mark(store, head));
  EXPECT_FALSE(listed());
  EXPECT_NE(::access(index.c_str(), F_OK), 0);  // the last entry took the directory
  // Nothing listed any more: the namespace is joined without a mark.
  open_network_namespace_to_join("/proc/self/ns/net", "member", index);
  EXPECT_FALSE(unrecyclable_mark(store, head));
}

TEST_F(RecycleMarksTest, AnEntryOfAnotherLeaseWithTheSameInodeIsLeftToIt) {
  // A killed netd's lease whose namespace was freed, and a new one with the same inode:
  // the new entry replaces the old, and the old lease's removal leaves it.
  Lease old = held_by("old");
  LeaseStore other{dir.path() + "/other", index};
  Lease now = standby_lease(other);
  store.remove(old);
  EXPECT_TRUE(listed());
  other.remove(now);
  EXPECT_NE(::access(index.c_str(), F_OK), 0);
}

TEST_F(RecycleMarksTest, ANamespaceBeingPreparedIsNeverJoined) {
  // Listed as soon as it exists, before its lease says it is on it.
  LeaseOwner self = LeaseOwner::self();
  index_recyclable(store, own_netns_inode(), network_key(standby_id(self.pid, self.start_time)), self);
  try {
    open_network_namespace_to_join("/proc/self/ns/net", "member", index);
    ADD_FAILURE() << "joined a namespace being prepared";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nucleus-netd is preparing it or tearing it down"), std::string::npos) << e.what();
  }
}

TEST_F(RecycleMarksTest, AnEntryWhoseNetdIsGoneNamesNothing) {
  // A netd killed before its lease named the namespace: the namespace was freed, and its
  // inode may be another's now (a CNI pod's), which is joined as any.
  list_as_if_killed("0123456789ab");
  ASSERT_TRUE(listed());
  EXPECT_TRUE(open_network_namespace_to_join("/proc/self/ns/net", "member", index));
  EXPECT_NE(::access((dir.path() + "/network/0123456789ab.unrecyclable").c_str(), F_OK), 0);
  // A collection's sweep (under the list's lock) removes it, and the list with it.
  EXPECT_TRUE(listed());
  sweep_recyclable_index(index);
  EXPECT_FALSE(listed());
  EXPECT_NE(::access(index.c_str(), F_OK), 0);
}

TEST_F(RecycleMarksTest, AnotherStandbysListingSweepsEntriesOfNetdsGone) {
  list_as_if_killed("0123456789ab");
  ASSERT_TRUE(listed());
  index_recyclable(store, own_netns_inode() + 1, "ba9876543210", LeaseOwner::self());
  EXPECT_FALSE(listed());
  unindex_recyclable(store, own_netns_inode() + 1, "ba9876543210");
  EXPECT_NE(::access(index.c_str(), F_OK), 0);
}

TEST_F(RecycleMarksTest, AMarkIsTakenBackWhenTheLeaseIsGone) {
  // A removal does not take the lock: a mark made as the lease went would outlive it.
  Lease head = held_by("head");
  ::unlink(store.find("head")->file.c_str());
  LeaseStore::Lock lock(store);
  mark_unrecyclable(lock, store, head, "container member joined it by path");
  EXPECT_FALSE(unrecyclable_mark(store, head));
}

TEST_F(RecycleMarksTest, TheInodeRoundTripsThroughTheLeaseFile) {
  Lease head = held_by("head");
  EXPECT_EQ(store.find("head")->netns_inode, own_netns_inode());
  EXPECT_EQ(lease_from_json(lease_to_json(head)).netns_inode, head.netns_inode);
  // A lease written before the field existed is one made for one container.
  nlohmann::json older = nlohmann::json::parse(lease_to_json(head));
  ASSERT_EQ(older.erase("netns_inode"), 1u);
  EXPECT_EQ(lease_from_json(older.dump()).netns_inode, 0u);
}

}  // namespace
}  // namespace nucleus::net
