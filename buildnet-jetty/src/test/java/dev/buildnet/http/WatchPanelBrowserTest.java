package dev.buildnet.http;

import static dev.buildnet.http.DashboardBrowserTest.waitFor;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.Watch;
import dev.buildnet.WatchListener;
import dev.buildnet.internal.addon.AddOns;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The dashboard's Watch panel in headless Chromium (the harness of {@link DashboardBrowserTest}):
 * a real watch on a temp workspace, a saved file, and the panel's row for that cycle with the
 * changed path, the rebuilt target and a link that opens the cycle's build.
 */
class WatchPanelBrowserTest {
  @Test
  void aSavedFile_showsAsTheNewestWatchCycle_withItsPathAndALinkToItsBuild() throws Exception {
    Path browser = DashboardBrowserTest.chromium();
    Path profile = Files.createTempDirectory("buildnet-chromium-");
    Path shots = Files.createDirectories(Path.of("target", "dashboard-screenshots"));
    Process p = null;
    try (Fixture f = WatchApiTest.watchFixture()) {
      p = DashboardBrowserTest.launch(browser, profile, f.http.uri() + "#token=" + Fixture.TOKEN);
      try (DashboardBrowserTest.Cdp cdp = DashboardBrowserTest.Cdp.connect(p)) {
        assertEquals("live", cdp.evaluate(waitFor(
            "document.getElementById('conn').textContent === 'live'", "'live'")));
        // No watch yet: one plain line, no table.
        String none = cdp.evaluate(waitFor("!document.getElementById('no-watch').hidden",
            "document.getElementById('no-watch').textContent"));
        assertTrue(none.startsWith("No watch running."), none);
        assertEquals("none", cdp.evaluate(
            "getComputedStyle(document.getElementById('watch-cycles')).display"));

        WatchApiTest.Finished done = new WatchApiTest.Finished();
        try (Watch w = f.net.watch(List.of("web"), done)) {
          assertEquals(1, done.next().number());
          WatchApiTest.save(f, "src/a.txt", "two");
          WatchListener.Cycle cycle = done.seeing("src/a.txt");
          String row = "document.querySelector('#watch-cycles tbody tr[data-cycle=\"" + cycle.number() + "\"]')";
          // The watch_cycle event (or the periodic refresh) brings the row; it is the newest.
          assertEquals(String.valueOf(cycle.number()), cdp.evaluate(waitFor(row,
              "document.querySelector('#watch-cycles tbody tr').dataset.cycle")));
          assertTrue(cdp.evaluate("document.getElementById('no-watch').hidden").equals("true"));
          assertEquals("watching for changes",
              cdp.evaluate("document.getElementById('watch-state').textContent"));
          assertEquals("1 file: src/a.txt", cdp.evaluate(row + ".querySelector('.changed').textContent"));
          assertEquals("web", cdp.evaluate(row + ".querySelector('.rebuilt').textContent"));
          String link = row + ".querySelector('a.build-link')";
          assertEquals(cycle.buildId(), cdp.evaluate(link + ".textContent"));
          assertTrue(cdp.evaluate(link + ".href").endsWith("#build=" + cycle.buildId()));
          // The first cycle (the watch's start) is listed below it.
          assertEquals("watch started", cdp.evaluate(waitFor(
              "document.querySelector('#watch-cycles tbody tr[data-cycle=\"1\"]')",
              "document.querySelector('#watch-cycles tbody tr[data-cycle=\"1\"] .changed').textContent")));
          cdp.screenshot(shots.resolve("watch.png"));

          // The link opens the cycle's build: its targets, with web built.
          cdp.evaluate("(" + link + ".click(), 'ok')");
          String heading = cdp.evaluate(waitFor(
              "document.getElementById('targets-of').textContent.includes('" + cycle.buildId() + "')"
                  + " && document.querySelector('#targets tr[data-target=\"web\"]')",
              "document.getElementById('targets-of').textContent"));
          assertTrue(heading.contains(cycle.buildId()), heading);
          assertEquals("#build=" + cycle.buildId(), cdp.evaluate("location.hash"));
        }
        // Closed: the panel says no watch runs now and keeps the last cycles (periodic refresh).
        assertEquals("no watch running now; its last cycles", cdp.evaluate(waitFor(
            "document.getElementById('watch-state').textContent.startsWith('no watch')",
            "document.getElementById('watch-state').textContent")));

        // A rescanned cycle of many paths that affected no target, handed to the same sink a
        // watch uses (a rescan needs the kernel to drop events): a few paths, the count, no link.
        AddOns.watchCycles(f.net).record(new WatchListener.Cycle(99, "",
            List.of("src/a.txt", "src/b.txt", "src/c.txt", "src/d.txt", "src/e.txt"), 5, List.of(), true));
        String rescan = "document.querySelector('#watch-cycles tbody tr[data-cycle=\"99\"]')";
        assertEquals("5 files: src/a.txt, src/b.txt, src/c.txt (+2 more) rescanned", cdp.evaluate(
            waitFor(rescan, rescan + ".querySelector('.changed').textContent")));
        assertEquals("99", cdp.evaluate("document.querySelector('#watch-cycles tbody tr').dataset.cycle"));
        assertEquals("nothing affected", cdp.evaluate(rescan + ".querySelector('.rebuilt').textContent"));
        assertEquals("null", cdp.evaluate("String(" + rescan + ".querySelector('a'))"));
      }
    } finally {
      DashboardBrowserTest.stop(p, profile);
    }
  }
}
