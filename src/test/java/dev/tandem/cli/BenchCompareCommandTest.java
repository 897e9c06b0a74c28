package dev.tandem.cli;

import dev.tandem.TestModels;
import dev.tandem.config.ConfigException;
import dev.tandem.config.EngineConfig;
import dev.tandem.config.KvDtype;
import dev.tandem.config.Quantization;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * bench-compare: each arm is the engine its flags describe (the same set-up twice makes the same greedy tokens),
 * both load orders are timed, and a bad arm is refused naming its flag.
 */
class BenchCompareCommandTest {

    @Test
    void armsAreParsedFromNameValuePairs() {
        EngineConfig e = BenchCompareCommand.arm("b", "quantization=int8,kv-cache-dtype=bf16");
        assertEquals(Quantization.INT8, e.quantization());
        assertEquals(KvDtype.BFLOAT16, e.kvCacheDtype());
        ConfigException noPair = assertThrows(ConfigException.class, () -> BenchCompareCommand.arm("b", "int8"));
        assertTrue(noPair.getMessage().contains("--b takes name=value pairs"), noPair.getMessage());
        ConfigException badValue = assertThrows(ConfigException.class,
                () -> BenchCompareCommand.arm("a", "quantization=int9"));
        assertTrue(badValue.getMessage().contains("int9"), badValue.getMessage());
        ConfigException unknown = assertThrows(ConfigException.class,
                () -> BenchCompareCommand.arm("a", "quantisation=int8"));
        assertTrue(unknown.getMessage().contains("quantisation"), unknown.getMessage());
    }

    @Test
    void theSameSetUpTwiceGeneratesTheSameTokensAndInt8Differs() {
        EngineConfig bf16 = BenchCompareCommand.arm("a", "quantization=none");
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        BenchCompareCommand.Result same = BenchCompareCommand.compare(TestModels.tiny(), bf16, bf16, 2, 3, 8, 16,
                new PrintStream(log, true));
        assertEquals(same.tokensA(), same.tokensB(), "one set-up, one greedy sequence");
        assertEquals(BenchCompareCommand.TOKENS_KEPT, same.tokensA().size(), "the first tokens are kept");
        assertTrue(same.ratio() > 0 && Double.isFinite(same.ratio()), "ratio " + same.ratio());
        String out = log.toString();
        assertTrue(out.contains("A loaded first") && out.contains("B loaded first"), out);

        EngineConfig int8 = BenchCompareCommand.arm("b", "quantization=int8");
        BenchCompareCommand.Result vs = BenchCompareCommand.compare(TestModels.tiny(), bf16, int8, 1, 2, 8, 16,
                new PrintStream(new ByteArrayOutputStream(), true));
        assertEquals(same.tokensA().subList(0, 16), vs.tokensA().subList(0, 16), "arm A is the same engine");
        assertEquals(BenchCompareCommand.TOKENS_KEPT, vs.tokensB().size(), "arm B decoded");
    }

    /** A prompt longer than one prefill chunk (two forward passes per row), then decode after it, in both arms. */
    @Test
    void aLongPromptIsPrefilledInChunksAndBothArmsAgree() {
        EngineConfig e = BenchCompareCommand.arm("a", "quantization=none");
        int promptLen = BenchCompareCommand.PREFILL_CHUNK + 88;
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        BenchCompareCommand.Result r = BenchCompareCommand.compare(TestModels.tiny(), e, e, 2, 2, 8, promptLen,
                new PrintStream(log, true));
        assertEquals(r.tokensA(), r.tokensB(), "one set-up, one greedy sequence");
        assertEquals(BenchCompareCommand.TOKENS_KEPT, r.tokensA().size());
        ConfigException tooLong = assertThrows(ConfigException.class, () -> BenchCompareCommand.compare(
                TestModels.tiny(), e, e, 1, 1, 8, 2048 - BenchCompareCommand.CYCLE + 1, System.out));
        assertTrue(tooLong.getMessage().contains("--prompt-len " + (2048 - BenchCompareCommand.CYCLE + 1))
                && tooLong.getMessage().contains("2048"), tooLong.getMessage());
        ConfigException zero = assertThrows(ConfigException.class,
                () -> BenchCompareCommand.compare(TestModels.tiny(), e, e, 1, 1, 8, 0, System.out));
        assertTrue(zero.getMessage().contains("--prompt-len"), zero.getMessage());
    }

    @Test
    void countsBelowOneAreRefused() {
        EngineConfig e = BenchCompareCommand.arm("a", "quantization=none");
        ConfigException ex = assertThrows(ConfigException.class,
                () -> BenchCompareCommand.compare(TestModels.tiny(), e, e, 1, 0, 8, 16, System.out));
        assertTrue(ex.getMessage().contains("--pairs"), ex.getMessage());
    }
}
