// A small computation on one device, checked against plain C++: whether a GPU backend actually
// works with this machine's driver. lib/ runs it in a child process first, so a driver that
// crashes takes down the probe, not the host.
#pragma once

#include <string>

namespace rerank {

// Returns an empty string when the device computed a matrix product correctly, else why not.
std::string probeDevice(const std::string& deviceName);

}  // namespace rerank
