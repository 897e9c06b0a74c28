package dev.tandem.modelgen;

/** The English text the tiny tokenizer's merges are learned from (written for this project). */
final class Corpus {
    private Corpus() {
    }

    static final String TEXT = """
            Tandem serves language models on the Java virtual machine. A request arrives at the gateway, which picks a
            prefill worker and a decode worker for it. The prefill worker reads the whole prompt at once and computes
            the keys and values of every token; then it pushes those pages of memory to the decode worker, which
            reserved room for them. The decode worker writes the answer one token at a time, and each new token reads
            all the keys and values that came before it. Splitting the two phases lets each machine do what it does
            best: prefill is limited by arithmetic, decode by memory bandwidth.

            Hello, world! How are you today? I am fine, thank you. What is the weather like where you are? It is
            sunny and warm here, with a light wind from the west. Would you like a cup of tea or coffee? The quick
            brown fox jumps over the lazy dog. She sells sea shells by the sea shore. The rain in Spain stays mainly
            in the plain. To be or not to be, that is the question. All that glitters is not gold.

            The model is a stack of transformer layers. Each layer normalises its input, projects it into queries,
            keys and values, rotates the queries and keys by their position, and lets every token attend to the
            tokens before it. A small feed-forward network with a gated activation follows. After the last layer,
            the hidden state is projected onto the vocabulary, and the sampler turns the scores into the next token.
            Greedy decoding always takes the most likely token; sampling with a temperature draws from the softened
            distribution, and top-k, top-p and min-p keep only the plausible candidates.

            Numbers such as 1, 2, 3, 10, 42, 100, 2024 and 3.14 appear in text too, as do lists, questions and
            answers. The user asks, the assistant answers, and the system sets the rules of the conversation.
            """;
}
