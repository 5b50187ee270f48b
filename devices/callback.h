// A callable a device calls back through (an interrupt line, a byte to
// transmit), held in place: no allocation, no C++ run-time, so the device
// models build freestanding, as the in-place VMM inside a guest needs them.
// It takes what std::function would for these uses (a lambda capturing
// `this` or references, a function) as long as it is small and trivially
// copyable; an empty one does nothing when called (or returns R{}).
#pragma once

#include <stddef.h>

#include <new>
#include <type_traits>
#include <utility>

namespace previrt::devices {

template <typename Signature, size_t Capacity = 4 * sizeof(void*)>
class Callback;

template <typename R, typename... Args, size_t Capacity>
class Callback<R(Args...), Capacity> {
public:
    Callback() = default;
    template <typename F, typename = std::enable_if_t<!std::is_same_v<std::decay_t<F>, Callback>>>
    Callback(F f) {  // NOLINT: implicit, as std::function's
        static_assert(sizeof(F) <= Capacity, "the callable is too big for a Callback");
        static_assert(std::is_trivially_copyable_v<F> && std::is_trivially_destructible_v<F>,
                      "a Callback holds only what it can copy byte by byte");
        ::new (static_cast<void*>(storage_)) F(f);
        invoke_ = [](const void* s, Args... args) -> R {
            return (*static_cast<F*>(const_cast<void*>(s)))(std::forward<Args>(args)...);
        };
    }

    explicit operator bool() const { return invoke_ != nullptr; }
    R operator()(Args... args) const {
        if (!invoke_) return R();
        return invoke_(storage_, std::forward<Args>(args)...);
    }

private:
    alignas(void*) unsigned char storage_[Capacity] = {};
    R (*invoke_)(const void*, Args...) = nullptr;
};

}  // namespace previrt::devices
