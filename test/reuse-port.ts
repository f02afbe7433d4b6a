/** The reusePort tests' client side: many plain WebSocket clients, each asking which server it reached. */

/**
 * Open `n` WebSocket clients to `url`; each sends one frame and keeps the first answer. Resolves
 * with the answers once all have one. The clients stay open until `close()`.
 */
export async function firstAnswers(url: string, n: number): Promise<{ answers: string[]; close(): void }> {
  const sockets: WebSocket[] = [];
  const close = () => sockets.forEach((ws) => ws.close());
  try {
    const answers = await Promise.all(Array.from({ length: n }, () => new Promise<string>((resolve, reject) => {
      const ws = new WebSocket(url);
      sockets.push(ws);
      ws.onopen = () => ws.send("which");
      ws.onmessage = (e) => resolve(String(e.data));
      ws.onerror = () => reject(new Error("connection failed"));
    })));
    return { answers, close };
  } catch (error) {
    close();
    throw error;
  }
}

/** How many of `answers` are `name`. */
export const count = (answers: string[], name: string): number => answers.filter((a) => a === name).length;
