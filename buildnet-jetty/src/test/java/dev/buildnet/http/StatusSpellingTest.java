package dev.buildnet.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.build.TargetOutcome;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/**
 * A finished target is {@code built} (not {@code succeeded}) and a finished build {@code
 * succeeded}, in one spelling everywhere: the engine's statuses, docs/PROTOCOL.md (BUILD_PROGRESS,
 * EVENT), the HTTP API's JSON schema and the dashboard's styles.
 */
class StatusSpellingTest {
  private static final List<String> TARGET =
      Arrays.stream(TargetOutcome.Status.values()).map(s -> s.name().toLowerCase(Locale.ROOT)).toList();

  private static String doc(String name) throws Exception {
    return Files.readString(Path.of("..", "docs", name));
  }

  @Test
  void theProtocolDocumentSpellsTargetAndBuildStatusesAsTheEngine() throws Exception {
    assertEquals(List.of("built", "cached", "failed", "skipped", "cancelled"), TARGET);
    String protocol = doc("PROTOCOL.md");
    assertTrue(protocol.contains("| 7 | `status` | str | no | `target_finished`: `built`, `cached`,"
        + " `failed`, `skipped` or `cancelled`; `build_finished`: `succeeded`, `failed` or"
        + " `cancelled` |"), "the EVENT status row");
    assertTrue(protocol.contains("`built`, `cached`, `failed`, `skipped` or `cancelled`: the same five"
        + " words"), "BUILD_PROGRESS phase");
  }

  @Test
  void theHttpSchemaAndTheDashboardUseTheSameWords() throws Exception {
    String openapi = doc("openapi.yaml");
    assertTrue(openapi.contains("enum: [pending, waiting, running, " + String.join(", ", TARGET) + "]"),
        "the target status enum of docs/openapi.yaml");
    assertTrue(openapi.contains("enum: [running, succeeded, failed, cancelled]"));
    String css;
    try (InputStream in = StatusSpellingTest.class.getResourceAsStream("dashboard/app.css")) {
      css = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    for (String styled : List.of(".built .status", ".succeeded .status", ".failed .status", ".cached .status")) {
      assertTrue(css.contains(styled), "app.css styles " + styled);
    }
  }
}
