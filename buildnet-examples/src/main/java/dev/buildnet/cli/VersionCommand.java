package dev.buildnet.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code buildnet version}: the same as {@code buildnet --version}, plus the Java runtime. */
@Command(name = "version", mixinStandardHelpOptions = true,
    description = "Prints BuildNet's version and the Java runtime it runs on.")
final class VersionCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() {
    var out = spec.commandLine().getOut();
    out.println(Version.text());
    out.println("java " + System.getProperty("java.version") + " ("
        + System.getProperty("java.vendor") + "), " + System.getProperty("os.name") + " "
        + System.getProperty("os.arch"));
    out.flush();
    return 0;
  }

  /** The version from the jar's manifest, or the build's when run from classes. */
  static final class Version implements CommandLine.IVersionProvider {
    static final String FALLBACK = "0.1.0-SNAPSHOT";

    static String text() {
      String v = BuildNetCli.class.getPackage().getImplementationVersion();
      return "buildnet " + (v == null ? FALLBACK : v);
    }

    @Override
    public String[] getVersion() {
      return new String[] {text()};
    }
  }
}
