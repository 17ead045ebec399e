/**
 * The database drivers, loaded on first use: a command starts without the one its hubs
 * do not use (and `lynq validate`, `render` or `history` without either).
 */
export async function loadPg(): Promise<typeof import('pg').default> {
  return (await import('pg')).default;
}

export async function loadMysql() {
  return (await import('mysql2/promise')).default;
}
