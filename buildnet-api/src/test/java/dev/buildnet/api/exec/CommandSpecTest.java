package dev.buildnet.api.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CommandSpecTest {

  @Test
  void emptyArgvIsRejectedWithTheArgvInTheMessage() {
    var e = assertThrows(IllegalArgumentException.class, () -> CommandSpec.of(List.of(), Path.of("."), Map.of()));
    assertTrue(e.getMessage().contains("argv"), e.getMessage());
  }

  @Test
  void nonPositiveTimeoutIsRejected() {
    var spec = CommandSpec.of(List.of("true"), Path.of("."), Map.of());
    assertThrows(IllegalArgumentException.class, () -> spec.withTimeout(Duration.ZERO));
    assertThrows(IllegalArgumentException.class, () -> spec.withTimeout(Duration.ofSeconds(-1)));
  }

  @Test
  void argvIsCopiedSoLaterChangesDoNotLeakIn() {
    List<String> argv = new ArrayList<>(List.of("echo", "a"));
    var spec = CommandSpec.of(argv, Path.of("."), Map.of());
    argv.add("b");
    assertEquals(List.of("echo", "a"), spec.argv());
  }
}
