#pragma once
// Hot-loop buffers that grow without zero-filling.
//
// std::vector<T>::resize value-initialises new elements, i.e. a memset of
// every byte it grows by. The exchange sweep resizes its double buffers and
// the reservoir every sweep and then overwrites every element, so that memset
// was pure memory traffic (several percent of a sweep). `Buffer<T>` default-
// initialises instead, which for arithmetic T leaves the bytes untouched.
#include <memory>
#include <vector>

namespace gcnn {

template <class T, class A = std::allocator<T>>
struct DefaultInitAllocator : A {
  using A::A;
  template <class U> struct rebind {
    using other = DefaultInitAllocator<U, typename std::allocator_traits<A>::template rebind_alloc<U>>;
  };
  template <class U> void construct(U* p) noexcept { ::new (static_cast<void*>(p)) U; }
  template <class U, class... Args> void construct(U* p, Args&&... args) {
    std::allocator_traits<A>::construct(static_cast<A&>(*this), p, std::forward<Args>(args)...);
  }
};

template <class T> using Buffer = std::vector<T, DefaultInitAllocator<T>>;

}  // namespace gcnn
