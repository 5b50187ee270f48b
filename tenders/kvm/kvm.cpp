#include "tenders/kvm/kvm.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace previrt::kvm {
namespace {

// struct kvm_cpuid2 ends in a zero-length array, which g++ sizes differently
// from C (12 bytes, not 8), and the size is part of the ioctl number: spell the
// numbers with the C layout the kernel expects.
struct CpuidHeader {
    uint32_t nent;
    uint32_t padding;
};
static_assert(sizeof(CpuidHeader) == 8);
constexpr unsigned long kGetSupportedCpuid = _IOWR(KVMIO, 0x05, CpuidHeader);
constexpr unsigned long kSetCpuid2 = _IOW(KVMIO, 0x90, CpuidHeader);

int checked(int r, const char* what) {
    if (r < 0) throw KvmError(what, errno);
    return r;
}

}  // namespace

KvmError::KvmError(const std::string& what, int err)
    : std::runtime_error(what + ": " + std::strerror(err)), error_(err) {}

System::System() {
    const char* path = std::getenv("PREVIRT_KVM_DEVICE");
    if (!path || !*path) path = "/dev/kvm";
    fd_ = Fd(open(path, O_RDWR | O_CLOEXEC));
    if (fd_.get() < 0) throw KvmError(std::string("cannot open ") + path, errno);
    int version = checked(ioctl(fd_.get(), KVM_GET_API_VERSION, 0), "KVM_GET_API_VERSION");
    if (version != KVM_API_VERSION) throw KvmError("KVM API version " + std::to_string(version) + ", not 12", EINVAL);
}

int System::check_extension(int cap) const { return ioctl(fd_.get(), KVM_CHECK_EXTENSION, cap); }

int System::vcpu_mmap_size() const {
    return checked(ioctl(fd_.get(), KVM_GET_VCPU_MMAP_SIZE, 0), "KVM_GET_VCPU_MMAP_SIZE");
}

Vm::Vm(const System& system) : fd_(checked(ioctl(system.fd(), KVM_CREATE_VM, 0), "KVM_CREATE_VM")) {}

void Vm::set_memory(uint32_t slot, uint64_t guest_phys, void* host, uint64_t size) {
    kvm_userspace_memory_region region{};
    region.slot = slot;
    region.guest_phys_addr = guest_phys;
    region.memory_size = size;
    region.userspace_addr = reinterpret_cast<uint64_t>(host);
    checked(ioctl(fd_.get(), KVM_SET_USER_MEMORY_REGION, &region), "KVM_SET_USER_MEMORY_REGION");
}

void Vm::create_irqchip() { checked(ioctl(fd_.get(), KVM_CREATE_IRQCHIP, 0), "KVM_CREATE_IRQCHIP"); }

void Vm::create_pit() {
    kvm_pit_config config{};
    config.flags = KVM_PIT_SPEAKER_DUMMY;
    checked(ioctl(fd_.get(), KVM_CREATE_PIT2, &config), "KVM_CREATE_PIT2");
}

void Vm::irq_line(uint32_t irq, bool level) {
    kvm_irq_level l{};
    l.irq = irq;
    l.level = level ? 1 : 0;
    checked(ioctl(fd_.get(), KVM_IRQ_LINE, &l), "KVM_IRQ_LINE");
}

Vcpu::Vcpu(const System& system, const Vm& vm, int id)
    : fd_(checked(ioctl(vm.fd(), KVM_CREATE_VCPU, id), "KVM_CREATE_VCPU")) {
    run_size_ = static_cast<size_t>(system.vcpu_mmap_size());
    void* p = mmap(nullptr, run_size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_.get(), 0);
    if (p == MAP_FAILED) throw KvmError("mmap of the vCPU's kvm_run", errno);
    run_ = static_cast<kvm_run*>(p);
}

Vcpu::~Vcpu() {
    if (run_) munmap(run_, run_size_);
}

bool Vcpu::run() {
    if (ioctl(fd_.get(), KVM_RUN, 0) == 0) return true;
    if (errno == EINTR || errno == EAGAIN) return false;
    throw KvmError("KVM_RUN", errno);
}

kvm_regs Vcpu::regs() const {
    kvm_regs r{};
    checked(ioctl(fd_.get(), KVM_GET_REGS, &r), "KVM_GET_REGS");
    return r;
}

void Vcpu::set_regs(const kvm_regs& r) { checked(ioctl(fd_.get(), KVM_SET_REGS, &r), "KVM_SET_REGS"); }

kvm_sregs Vcpu::sregs() const {
    kvm_sregs s{};
    checked(ioctl(fd_.get(), KVM_GET_SREGS, &s), "KVM_GET_SREGS");
    return s;
}

void Vcpu::set_sregs(const kvm_sregs& s) { checked(ioctl(fd_.get(), KVM_SET_SREGS, &s), "KVM_SET_SREGS"); }

void Vcpu::inject(uint8_t vector) {
    kvm_interrupt i{};
    i.irq = vector;
    checked(ioctl(fd_.get(), KVM_INTERRUPT, &i), "KVM_INTERRUPT");
}

std::vector<kvm_cpuid_entry2> Vcpu::set_supported_cpuid(const System& system) {
    constexpr int kMaxEntries = 256;
    std::vector<uint8_t> buffer(sizeof(CpuidHeader) + kMaxEntries * sizeof(kvm_cpuid_entry2));
    auto* header = reinterpret_cast<CpuidHeader*>(buffer.data());
    header->nent = kMaxEntries;
    checked(ioctl(system.fd(), kGetSupportedCpuid, buffer.data()), "KVM_GET_SUPPORTED_CPUID");
    checked(ioctl(fd_.get(), kSetCpuid2, buffer.data()), "KVM_SET_CPUID2");
    auto* entries = reinterpret_cast<kvm_cpuid_entry2*>(buffer.data() + sizeof(CpuidHeader));
    return {entries, entries + header->nent};
}

uint64_t Vcpu::tsc_khz() const { return static_cast<uint64_t>(checked(ioctl(fd_.get(), KVM_GET_TSC_KHZ, 0), "KVM_GET_TSC_KHZ")); }

void Vcpu::set_single_step(bool on) {
    kvm_guest_debug d{};
    d.control = on ? KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP : 0;
    checked(ioctl(fd_.get(), KVM_SET_GUEST_DEBUG, &d), "KVM_SET_GUEST_DEBUG");
}

void Vm::port_ioeventfd(uint16_t port, unsigned size, int eventfd) {
    kvm_ioeventfd e{};
    e.addr = port;
    e.len = size;
    e.fd = eventfd;
    e.flags = KVM_IOEVENTFD_FLAG_PIO;
    checked(ioctl(fd_.get(), KVM_IOEVENTFD, &e), "KVM_IOEVENTFD");
}

}  // namespace previrt::kvm
