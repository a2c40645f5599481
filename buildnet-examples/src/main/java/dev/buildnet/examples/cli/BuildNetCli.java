package dev.buildnet.examples.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code buildnet} command line: {@code build}, {@code explain}, {@code gc}, {@code demo},
 * {@code serve} and {@code submit}.
 * The only place in BuildNet that calls {@link System#exit}.
 */
@Command(
    name = "buildnet",
    mixinStandardHelpOptions = true,
    version = "buildnet 0.1.0-SNAPSHOT",
    description = "Builds a workspace's targets with BuildNet's content-addressed cache.",
    subcommands = {
      BuildCommand.class,
      ExplainCommand.class,
      GcCommand.class,
      DemoCommand.class,
      ServeCommand.class,
      WorkerCommand.class,
      SubmitCommand.class
    })
public final class BuildNetCli implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the command line and returns its exit code (tests call this instead of main). */
  public static int run(String... args) {
    return new CommandLine(new BuildNetCli()).execute(args);
  }

  /** Runs the command line with its output going to {@code out}. */
  public static int run(java.io.PrintWriter out, String... args) {
    CommandLine cli = new CommandLine(new BuildNetCli());
    cli.setOut(out);
    cli.setErr(out);
    return cli.execute(args);
  }

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }
}
