// Exceptions in the static nucleus without a first-throw stall.
//
// A static link starts with crtbeginT.o, which registers the binary's whole .eh_frame with
// libgcc's unwinder (__register_frame_info). The first exception thrown then makes the
// unwinder sort every unwind entry of the binary before it can find one: about 5 ms here,
// paid by every error nucleus reports (exit 125 on bad input, `state` or `delete` of a
// container that is gone, as containerd and podman ask) and by CLI11's --version.
// Registration is turned off (the link wraps both calls, frontend/CMakeLists.txt), and the
// unwinder finds entries as it does in a dynamic program: glibc's _dl_find_object hands it
// the PT_GNU_EH_FRAME table the linker builds (--eh-frame-hdr), searched by bisection,
// without a lock.
extern "C" {
void __wrap___register_frame_info(const void* /*begin*/, void* /*object*/) {}
// Called by crtbeginT's destructor at exit(): nothing was registered.
void* __wrap___deregister_frame_info(const void* /*begin*/) { return nullptr; }
}
