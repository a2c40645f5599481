package demo.app;

import demo.report.Report;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reads a text file and writes its report: {@code java -jar app.jar <in> <out>}. */
public final class Main {
  public static void main(String[] args) throws Exception {
    String text = Files.readString(Path.of(args[0]), StandardCharsets.UTF_8);
    String report = Report.render(Path.of(args[0]).getFileName().toString(), text);
    Files.writeString(Path.of(args[1]), report, StandardCharsets.UTF_8);
    System.out.print(report);
  }
}
