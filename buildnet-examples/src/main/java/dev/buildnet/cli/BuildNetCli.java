package dev.buildnet.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * The {@code buildnet} command line: {@code build}, {@code list}, {@code explain}, {@code clean},
 * {@code gc}, {@code demo}, {@code serve}, {@code worker}, {@code submit}, {@code version} and
 * {@code help}.
 * The only place in BuildNet that calls {@link System#exit}.
 *
 * <p>Exit codes: {@value #OK} success; {@value #FAILED} a build that failed (or an internal
 * error); {@value #USAGE} a usage or configuration error, reported as one message without a stack
 * trace (see {@link ErrorReporter}); {@value #CANCELLED} cancelled.
 */
@Command(
    name = "buildnet",
    mixinStandardHelpOptions = true,
    versionProvider = VersionCommand.Version.class,
    description = "Builds a workspace's targets with BuildNet's content-addressed cache.",
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
      "0:success",
      "1:the build failed",
      "2:usage or configuration error",
      "130:cancelled (Ctrl-C)",
      "143:terminated (SIGTERM)"
    })
public final class BuildNetCli implements Runnable {
  /** The command succeeded. */
  public static final int OK = 0;
  /** The build failed, or BuildNet hit an internal error. */
  public static final int FAILED = 1;
  /** A usage or configuration error: bad arguments, a bad workspace file, a bad secret, .... */
  public static final int USAGE = 2;
  /** The build was cancelled (as by Ctrl-C, 128 + SIGINT). */
  public static final int CANCELLED = 130;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(names = "--stacktrace", scope = ScopeType.INHERIT,
      description = "On an error, print its stack trace as well as its message.")
  boolean stacktrace;

  public static void main(String[] args) {
    // This JVM is ours alone, so it may adopt what targets leave behind (see
    // ProcessShellProvider.Builder#subreaper); a host embedding BuildNet decides for itself.
    if (System.getProperty(dev.buildnet.exec.ProcessShellProvider.SUBREAPER_PROPERTY) == null) {
      System.setProperty(dev.buildnet.exec.ProcessShellProvider.SUBREAPER_PROPERTY, "true");
    }
    int code;
    try {
      code = run(args);
    } catch (Throwable e) { // an Error escaping picocli (e.g. out of memory): still one line
      code = ErrorReporter.reportUncaught(e, java.util.Arrays.asList(args).contains("--stacktrace"));
    }
    System.exit(code);
  }

  /** Runs the command line and returns its exit code (tests call this instead of main). */
  public static int run(String... args) {
    return commandLine(args).execute(args);
  }

  /** Runs the command line with its output going to {@code out}. */
  public static int run(java.io.PrintWriter out, String... args) {
    CommandLine cli = commandLine(args);
    cli.setOut(out);
    cli.setErr(out);
    return cli.execute(args);
  }

  /** The subcommands, in the order {@code help} lists them. */
  private static final java.util.Map<String, Class<?>> SUBCOMMANDS = subcommands();

  private static java.util.Map<String, Class<?>> subcommands() {
    java.util.Map<String, Class<?>> m = new java.util.LinkedHashMap<>();
    m.put("build", BuildCommand.class);
    m.put("list", ListCommand.class);
    m.put("explain", ExplainCommand.class);
    m.put("clean", CleanCommand.class);
    m.put("gc", GcCommand.class);
    m.put("demo", DemoCommand.class);
    m.put("serve", ServeCommand.class);
    m.put("worker", WorkerCommand.class);
    m.put("submit", SubmitCommand.class);
    m.put("daemon", DaemonCommand.class);
    m.put("version", VersionCommand.class);
    m.put("help", CommandLine.HelpCommand.class);
    return java.util.Collections.unmodifiableMap(m);
  }

  /** The command line with BuildNet's error handling: one message and an exit code per error. */
  static CommandLine commandLine() {
    return commandLine(new String[0]);
  }

  /**
   * The command line for {@code args}. When the first argument names a subcommand (other than
   * {@code help}, which lists them all), only that one is registered: picocli builds a model of
   * every registered command by reflection, and skipping the ten others saves a start-up's worth
   * of class loading (the options of serve, worker and submit reach TLS, HTTP and the client). The
   * chosen command parses and prints exactly as it does with all of them registered.
   */
  static CommandLine commandLine(String[] args) {
    CommandLine cli = new CommandLine(new BuildNetCli());
    String first = args.length > 0 ? args[0] : null;
    if (args.length == 1 && ("--version".equals(first) || "-V".equals(first))) {
      // the version alone: no subcommand is needed
    } else if (first != null && SUBCOMMANDS.containsKey(first) && !"help".equals(first)) {
      cli.addSubcommand(first, SUBCOMMANDS.get(first));
    } else {
      SUBCOMMANDS.forEach(cli::addSubcommand);
    }
    ErrorReporter errors = new ErrorReporter();
    cli.setExecutionExceptionHandler(errors);
    cli.setParameterExceptionHandler(errors);
    return cli;
  }

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }
}
