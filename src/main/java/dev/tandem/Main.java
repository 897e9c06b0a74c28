package dev.tandem;

import dev.tandem.cli.BenchEngineCommand;
import dev.tandem.cli.GenerateCommand;
import dev.tandem.cli.MakeTinyModelCommand;

import java.util.Arrays;

/** Entry point: dispatches the subcommands that {@code run.sh} passes through. */
public final class Main {
    private Main() {
    }

    static final String USAGE = """
            usage: ./run.sh <command> [flags]
              generate         --model DIR (--prompt TEXT | --input-ids 1,2,3) [--max-new-tokens N] [--temperature T]
                               [--top-k K] [--top-p P] [--seed S] [--json] [--backend vector|scalar] [--threads N]
              bench-engine     --model DIR [--prompt-len 512] [--batches 1,8,32] [--steps 32] [--threads N]
              make-tiny-model  --out DIR [--preset tiny|bench] [--seed N] [--dtype bf16|f16|f32] [--shards N]
                               [--arch llama|qwen2]
              test             run the whole test suite
            """;

    public static void main(String[] argv) {
        if (argv.length == 0 || argv[0].equals("help") || argv[0].equals("--help")) {
            System.out.print(USAGE);
            return;
        }
        String[] rest = Arrays.copyOfRange(argv, 1, argv.length);
        try {
            int code = switch (argv[0]) {
                case "generate" -> GenerateCommand.run(rest);
                case "bench-engine" -> BenchEngineCommand.run(rest);
                case "make-tiny-model" -> MakeTinyModelCommand.run(rest);
                default -> {
                    System.err.println("unknown command '" + argv[0] + "'\n" + USAGE);
                    yield 2;
                }
            };
            System.exit(code);
        } catch (IllegalArgumentException | IllegalStateException e) {
            System.err.println("error: " + e.getMessage());
            System.exit(2);
        } catch (RuntimeException e) {
            System.err.println("error: " + e.getMessage());
            System.exit(1);
        }
    }
}
