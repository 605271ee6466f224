export async function senderCli(_args: string[]): Promise<void> {
  throw new Error('sender kit: not built yet');
}
