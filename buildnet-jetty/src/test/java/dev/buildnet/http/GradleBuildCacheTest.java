package dev.buildnet.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A real Gradle (Debian's {@code gradle}, 4.4.1) against {@code /cache/}: a build of a few hundred
 * small cacheable tasks stores every output, and after {@code clean} every task comes back
 * FROM-CACHE. No plugins, repositories or dependencies, so Gradle fetches nothing (it is not run
 * with {@code --offline}, which in Gradle 4.4 also turns the remote cache off); the local cache
 * is off so that hits can only come from ours.
 * Regression for one failed PUT that made Gradle switch the remote cache off mid-build.
 */
class GradleBuildCacheTest {
  static final int TASKS = 300;

  @Test
  void smallTasks_afterClean_areAllFromCache() throws Exception {
    Path tmp = Files.createTempDirectory("buildnet-gradle-");
    Path ws = Files.createDirectories(tmp.resolve("ws"));
    try (Fixture f = Fixture.withToken()) {
      Files.writeString(ws.resolve("settings.gradle"), "rootProject.name = 'many'\n"
          + "buildCache {\n"
          + "  local { enabled = false }\n"
          + "  remote(HttpBuildCache) {\n"
          + "    url = 'http://127.0.0.1:" + f.http.port() + "/cache/'\n"
          + "    push = true\n"
          + "    credentials { username = 'ci'; password = '" + Fixture.TOKEN + "' }\n"
          + "  }\n"
          + "}\n");
      Files.writeString(ws.resolve("build.gradle"), ""
          + "def all = task('all')\n"
          + "(1.." + TASKS + ").each { i ->\n"
          + "  def t = task(\"t$i\") {\n"
          + "    inputs.property('n', i)\n"
          + "    outputs.file(\"$buildDir/t${i}.txt\")\n"
          + "    outputs.cacheIf { true }\n"
          + "    doLast { file(\"$buildDir/t${i}.txt\").text = \"task $i \" * 20 }\n"
          + "  }\n"
          + "  all.dependsOn t\n"
          + "}\n"
          + "task clean(type: Delete) { delete buildDir }\n");
      List<String> gradle = List.of("gradle", "--no-daemon", "--console=plain",
          "--build-cache", "--gradle-user-home", tmp.resolve("home").toString());
      Map<String, String> env = Map.of("HOME", tmp.toString());

      RealClient.Run first = RealClient.run(with(gradle, "all"), ws, env, tmp.resolve("build1.log"));
      assertEquals(0, first.exit(), first.output());
      assertFalse(first.output().contains("Unable to store"), first.output());
      assertFalse(first.output().contains("disabled"), first.output());
      assertEquals(TASKS, first.count("^:t\\d+$"), first.output());

      RealClient.Run second = RealClient.run(with(gradle, "clean", "all"), ws, env,
          tmp.resolve("build2.log"));
      assertEquals(0, second.exit(), second.output());
      assertFalse(second.output().contains("Unable to load"), second.output());
      assertEquals(TASKS, second.count("^:t\\d+ FROM-CACHE$"), second.output());
      assertEquals(("task 7 ").repeat(20),
          Files.readString(ws.resolve("build").resolve("t7.txt")));
    } finally {
      RealClient.deleteTree(tmp);
    }
  }

  private static List<String> with(List<String> base, String... tasks) {
    List<String> argv = new java.util.ArrayList<>(base);
    argv.addAll(List.of(tasks));
    return argv;
  }
}
