package dev.buildnet.state;

import dev.buildnet.internal.state.InMemoryStateBackend;
import dev.buildnet.tck.MutableClock;
import dev.buildnet.internal.state.StateBackendModelProperties;

import dev.buildnet.api.state.StateBackend;

class InMemoryStateBackendModelTest extends StateBackendModelProperties {
  @Override
  protected StateBackend createBackend(MutableClock clock) {
    return InMemoryStateBackend.builder().clock(clock).build();
  }
}
