// formatNotification turns the data of a custom-notification event into the
// text shown in the page: "12:34:56 [info] Hello from server!".
export function formatNotification({ message = '', level = 'info' } = {}, at = new Date()) {
  return `${at.toLocaleTimeString()} [${level}] ${message}`;
}
