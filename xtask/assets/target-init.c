/*
 * The demo/test "target": a tiny static /init that stands for the OS a
 * real pxelinux.cfg would boot. It prints a banner, the uptime of the
 * kernel that runs it and its /proc/cmdline, then powers the guest off.
 * Built by the xtask with s390x-linux-gnu-gcc -static.
 */
#include <stdio.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void)
{
	char buf[4096];
	FILE *f;
	size_t n;

	/*
	 * Keep the kernel's messages off the console from here on: printk
	 * writes to it as they come, even into the middle of our lines, and
	 * the tests look for these lines whole (8: SYSLOG_ACTION_CONSOLE_LEVEL).
	 */
	klogctl(8, NULL, 1);
	mkdir("/proc", 0755);
	mount("proc", "/proc", "proc", 0, NULL);
	printf("\nTARGET-INIT: hello from the netbooted target (" BANNER ")\n");
	f = fopen("/proc/uptime", "r");
	if (f && fgets(buf, sizeof(buf), f))
		printf("TARGET-UPTIME: %s", buf);
	if (f)
		fclose(f);
	f = fopen("/proc/cmdline", "r");
	n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	buf[n] = 0;
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = 0;
	printf("TARGET-CMDLINE: %s\n", buf);
	printf("TARGET-DONE: powering off\n");
	fflush(stdout);
	/*
	 * The line-mode console sends a tty's output on a 0.1 s timer
	 * (drivers/s390/char/sclp_tty.c): what it still holds when the
	 * machine stops is lost.
	 */
	usleep(500000);
	sync();
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}
