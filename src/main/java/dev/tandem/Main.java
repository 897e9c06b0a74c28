package dev.tandem;

import dev.tandem.cli.BenchCompareCommand;
import dev.tandem.cli.BenchEngineCommand;
import dev.tandem.cli.BenchKernelCommand;
import dev.tandem.cli.BenchGrammarCommand;
import dev.tandem.cli.BenchGatewayCommand;
import dev.tandem.cli.BenchPdCommand;
import dev.tandem.cli.BenchServingCommand;
import dev.tandem.cli.BenchTransferCommand;
import dev.tandem.cli.ChaosCommand;
import dev.tandem.cli.GatewayCommand;
import dev.tandem.cli.GenerateCommand;
import dev.tandem.cli.MakeTinyModelCommand;
import dev.tandem.cli.QuickstartCommand;
import dev.tandem.cli.WorkerCommand;

import java.util.Arrays;

/** Entry point: dispatches the subcommands that {@code run.sh} passes through. */
public final class Main {
    private Main() {
    }

    static final String USAGE = """
            usage: ./run.sh <command> [flags]
              generate         --model DIR (--prompt TEXT | --input-ids 1,2,3) [--max-new-tokens N] [--temperature T]
                               [--top-k K] [--top-p P] [--seed S] [--json] [--backend vector|scalar] [--threads N]
              bench-engine     --model DIR [--prompt-len 512] [--batches 1,8,32] [--steps 128] [--runs 5]
                               [--probe-mb 1024] [--threads N] [--quantization none|int8]
                               [--kv-cache-dtype auto|float32|bf16|bfloat16] [--phases]
              bench-kernel     [--rows 1536] [--in 576] [--tokens 32] [--runs 5] [--stream-mb 256] [--probe-mb 1024]
                               [--threads N] [--quantization none|int8]: the matmul alone, weights from cache vs
                               from memory
              bench-compare    --model DIR --b quantization=int8 [--a quantization=none] [--batch 1] [--pairs 30]
                               [--steps 32] [--prompt-len 16]: decode speed of set-up B over A, both in one JVM,
                               timed alternately
              bench-serving    --url URL [--num-prompts 100] [--request-rate inf] [--input-len 128] [--output-len 64]
                               [--seed 0] [--timeout 600] [--json]
              bench-transfer   [--tokens 1024,8192,32768] [--reps 3]   KV transfer GB/s per transport
                               [--kv-cache-dtype auto|bf16]   (bytes per token printed)
              bench-gateway    [--requests 20000] [--concurrency 1,32]   gateway overhead vs a worker directly
              bench-pd         --model DIR [--cores N] [--prompt-len 128] [--output-len 64] [--rate 2] [--requests 32]
                               [--chunked-prefill-size 128] [--slo-ttft-ms 1000] [--slo-itl-ms 200]
                               colocated vs prefill+decode vs smaller prefill chunks, same CPUs, same workload
              bench-grammar    --model DIR [--batches 1,32] [--steps 16] [--runs 3]   structured-output step cost
              make-tiny-model  --out DIR [--preset tiny|bench] [--seed N] [--dtype bf16|f16|f32] [--shards N]
                               [--arch llama|qwen2]
              worker           --mode null --model DIR [--port 30000] [--host 127.0.0.1] [--conf conf/worker.json]
                               [--max-total-tokens N] [--max-running-requests N] [--chunked-prefill-size N]
                               [--context-length N] [--page-size N] [--backend vector|scalar] [--threads N]
                               [--quantization none|int8] [--kv-cache-dtype auto|float32|bf16|bfloat16]
              gateway          --port 8000 --prefill URL [URL...] --prefill-bootstrap-ports B [B...] --decode URL
                               [URL...] [--timeout 600] [--policy random|round_robin|power_of_two] [--cluster]
              quickstart       gateway + prefill + decode in one clustered JVM on the tiny model ([--model DIR])
              chaos            [--minutes 10] [--clients 4] [--seed 1] [--transport tcp|shm|auto] [--max-stop 10]
                               soak: load through a gateway while workers are killed, stopped and restarted
              test             run the whole test suite
            """;

    public static void main(String[] argv) throws Exception {
        if (argv.length == 0 || argv[0].equals("help") || argv[0].equals("--help")) {
            System.out.print(USAGE);
            return;
        }
        String[] rest = Arrays.copyOfRange(argv, 1, argv.length);
        try {
            int code = switch (argv[0]) {
                case "generate" -> GenerateCommand.run(rest);
                case "bench-engine" -> BenchEngineCommand.run(rest);
                case "bench-kernel" -> BenchKernelCommand.run(rest);
                case "bench-compare" -> BenchCompareCommand.run(rest);
                case "bench-gateway" -> BenchGatewayCommand.run(rest);
                case "bench-serving" -> BenchServingCommand.run(rest);
                case "bench-pd" -> BenchPdCommand.run(rest);
                case "bench-transfer" -> BenchTransferCommand.run(rest);
                case "make-tiny-model" -> MakeTinyModelCommand.run(rest);
                case "bench-grammar" -> BenchGrammarCommand.run(rest);
                case "worker" -> WorkerCommand.run(rest);
                case "gateway" -> GatewayCommand.run(rest);
                case "quickstart" -> QuickstartCommand.run(rest);
                case "chaos" -> ChaosCommand.run(rest);
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
