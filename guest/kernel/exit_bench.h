// What a sensitive operation costs on the platform at hand, measured from the
// kernel (command line "exitbench"): a port read the platform's UART model
// answers, and a read of device memory no RAM backs. Under a monitor each is
// one exit; on the bare PC (QEMU) each is the device model's cost.
#pragma once

namespace guest {

void run_exit_bench(bool short_run);

}  // namespace guest
