#include "network/ipam/lease_store.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/sys/error.h"
#include "core/sys/scoped.h"
#include "core/sys/sys.h"
#include "network/naming.h"
#include "network/standby_policy.h"
#include "tests/support/dead_owner.h"

namespace nucleus::net {
namespace {

using test::dead_owner;

class LeaseStoreTest : public ::testing::Test {
 protected:
  TempDir dir{"/tmp", "nucleus-lease-test-"};
  LeaseStore store{dir.path() + "/network"};
  NetworkRequest request;
};

TEST_F(LeaseStoreTest, HandsOutTheLowestFreeIndexInBothSubnets) {
  LeaseStore::Lock lock(store);
  Lease a = store.allocate(lock, "a", request, LeaseOwner::self());
  Lease b = store.allocate(lock, "b", request, LeaseOwner::self());
  EXPECT_EQ(a.address4.to_string(), "10.231.0.2");
  EXPECT_EQ(a.address6.to_string(), "fd6e:7563:6c65::2");
  EXPECT_EQ(a.gateway4.to_string(), "10.231.0.1");
  EXPECT_EQ(a.gateway6.to_string(), "fd6e:7563:6c65::1");
  EXPECT_EQ(b.address4.to_string(), "10.231.0.3");
  EXPECT_EQ(a.key, network_key("a"));
  EXPECT_EQ(store.find("a")->address4, a.address4);
}

TEST_F(LeaseStoreTest, NeverHandsOutAnAddressStillHeldEvenByADeadOwner) {
  LeaseStore::Lock lock(store);
  Lease dead = store.allocate(lock, "dead", request, dead_owner());
  EXPECT_FALSE(dead.owner.alive());
  // The dead owner's lease stays until a teardown removes it: its address is not reused.
  Lease next = store.allocate(lock, "next", request, LeaseOwner::self());
  EXPECT_NE(next.address4, dead.address4);
  store.remove(dead);
  Lease again = store.allocate(lock, "again", request, LeaseOwner::self());
  EXPECT_EQ(again.address4, dead.address4);
}

TEST_F(LeaseStoreTest, RefusesASecondLeaseForOneIdAndAFullSubnet) {
  request.subnet4 = *parse_cidr("10.9.9.0/29").cidr;  // .2 - .6 usable
  LeaseStore::Lock lock(store);
  store.allocate(lock, "x", request, LeaseOwner::self());
  EXPECT_THROW(store.allocate(lock, "x", request, LeaseOwner::self()), Error);
  for (const char* id : {"y", "z", "u", "v"}) store.allocate(lock, id, request, LeaseOwner::self());
  try {
    store.allocate(lock, "w", request, LeaseOwner::self());
    FAIL() << "a sixth lease in a /29";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "allocate an address on nucleus0: all 5 addresses are held");
  }
}

// A standby (its id names its owner) leaves the subnet's last free address to a container.
TEST_F(LeaseStoreTest, AStandbyNeverTakesTheLastFreeAddress) {
  request.subnet4 = *parse_cidr("10.9.9.0/29").cidr;  // .2 - .6 usable
  LeaseStore::Lock lock(store);
  const LeaseOwner self = LeaseOwner::self();
  const std::string standby = standby_id(self.pid, self.start_time);
  for (const char* id : {"y", "z", "u"}) store.allocate(lock, id, request, self);
  Lease prepared = store.allocate(lock, standby, request, self);  // two were free
  EXPECT_EQ(prepared.address4.to_string(), "10.9.9.5");
  store.remove(prepared);
  store.allocate(lock, "v", request, self);
  try {
    store.allocate(lock, standby, request, self);
    FAIL() << "a standby took the last free address";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "allocate an address on nucleus0: the last free address is left to a container");
  }
  EXPECT_EQ(store.allocate(lock, "w", request, self).address4.to_string(), "10.9.9.6");
}

TEST_F(LeaseStoreTest, OwnerIsAliveOnlyWithItsOwnStartTime) {
  LeaseOwner self = LeaseOwner::self();
  EXPECT_TRUE(self.alive());
  EXPECT_FALSE((LeaseOwner{self.pid, self.start_time + 1}.alive()));
  EXPECT_FALSE(dead_owner().alive());
}

TEST_F(LeaseStoreTest, LeaseRoundTripsThroughItsFile) {
  LeaseStore::Lock lock(store);
  request.publish = {parse_publish("[2001:db8::1]:8080:80/udp", "-p"), parse_publish("8081:81", "-p")};
  request.egress = {parse_egress_rule("pypi.org", "e")};
  Lease lease = store.allocate(lock, "round", request, LeaseOwner::self());
  lease.dns_port = 40000;
  store.update(lease);
  Lease read = *store.find("round");
  EXPECT_EQ(lease_to_json(read), lease_to_json(lease));
  EXPECT_TRUE(read.policy);
  EXPECT_EQ(read.publish, request.publish);
  store.remove(read);
  store.remove(read);  // idempotent
  EXPECT_FALSE(store.find("round"));
  EXPECT_TRUE(store.list().empty());
}

TEST_F(LeaseStoreTest, AHandedOverLeaseIsFoundByItsNewIdAndKeepsItsKey) {
  Lease prepared;
  {
    LeaseStore::Lock lock(store);
    prepared = store.allocate(lock, "standby-1-1", request, LeaseOwner::self());
  }
  {
    LeaseStore::Lock lock(store);
    store.hand_over(lock, prepared, "web");
  }
  ASSERT_EQ(store.list().size(), 1u);  // the same file, not a second lease
  std::optional<Lease> found = store.find("web");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->key, network_key("standby-1-1"));
  EXPECT_EQ(found->origin, "standby-1-1");
  EXPECT_EQ(found->address4, prepared.address4);
  EXPECT_FALSE(store.find("standby-1-1"));
  // The id holds a lease now: a second one is refused, whatever its file's name.
  LeaseStore::Lock lock(store);
  EXPECT_THROW(store.allocate(lock, "web", request, LeaseOwner::self()), Error);
  store.remove(*found);
  EXPECT_FALSE(store.find("web"));
  EXPECT_TRUE(store.list().empty());
}

// A hand-over never writes over another lease's file (a holder killed halfway left one at
// the new id's name, or another id has the same key): refused with EEXIST, both intact; a
// hand-over back (a recycled namespace's) gives the standby's name again.
TEST_F(LeaseStoreTest, AHandOverNeverReplacesAnotherLeasesFile) {
  LeaseStore::Lock lock(store);
  Lease held = store.allocate(lock, "web", request, LeaseOwner::self());
  Lease prepared = store.allocate(lock, "standby-1-1", request, LeaseOwner::self());
  try {
    store.hand_over(lock, prepared, "web");
    ADD_FAILURE() << "handed over onto web's lease";
  } catch (const Error& e) {
    EXPECT_EQ(e.err(), EEXIST) << e.what();
  }
  EXPECT_EQ(prepared.id, "standby-1-1");  // unchanged: its teardown finds its file
  ASSERT_TRUE(store.find("web"));
  EXPECT_EQ(store.find("web")->address4, held.address4);
  ASSERT_TRUE(store.find("standby-1-1"));
  store.remove(held);
  store.hand_over(lock, prepared, "web");
  store.hand_over(lock, prepared, "standby-1-1");
  ASSERT_TRUE(store.find("standby-1-1"));
  EXPECT_FALSE(store.find("web"));
  EXPECT_EQ(store.list().size(), 1u);
}

TEST_F(LeaseStoreTest, ALeaseWhoseKeyIsNotItsOriginsIsRefused) {
  LeaseStore::Lock lock(store);
  Lease lease = store.allocate(lock, "a", request, LeaseOwner::self());
  lease.origin = "b";
  EXPECT_THROW(lease_from_json(lease_to_json(lease)), Error);
}

TEST(Naming, KeysAreShortStableAndFitInterfaceNames) {
  ContainerNames n = container_names("my-container");
  EXPECT_EQ(n.key, network_key("my-container"));
  EXPECT_EQ(n.key.size(), 12u);
  EXPECT_EQ(n.host_veth, "nv" + n.key);
  EXPECT_LE(n.host_veth.size(), 15u);
  EXPECT_NE(network_key("a"), network_key("b"));
  EXPECT_FALSE(check_network_id("abc-1.2_3"));
  EXPECT_TRUE(check_network_id("a/b"));
  EXPECT_TRUE(check_network_id(".."));
  EXPECT_TRUE(check_network_id(""));
}

}  // namespace
}  // namespace nucleus::net
